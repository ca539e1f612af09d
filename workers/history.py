"""Past time entries for `simulate` and `backfill`: a period, its `filterby`, patient page reads.

A period is a range of days in UTC, matched on `startDateUtc` (awork stores the day an entry
starts, in UTC, at midnight): `startDateUtc ge datetime'<from>T00:00:00' and startDateUtc le
datetime'<to>T23:59:59'`, optionally `and projectId eq guid'…'` (api-notes 2.3). Plain query
parameters like `?startDateUtc=` are silently ignored by awork, so it is `filterby` or nothing.

`patiently(step)` runs one idempotent step (read a page; read and fix a page) until it succeeds:
a rate limit waits as long as awork or the shared limiter says, other transient failures
(5xx, timeouts) are retried with back-off up to `AWORK_MAX_ATTEMPTS` tries, then raised.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from workers.awork import AworkRateLimited, AworkRetryable

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF_SECONDS = 30.0
MAX_RATE_LIMIT_WAITS = 100
"""Waits for the rate limit in a row before giving up (other integrations may hog it)."""


@dataclass(frozen=True)
class Period:
    """The entries starting on days `start` to `end` (UTC, both included), of one project or all."""

    start: date
    end: date
    project: str | None = None

    def filterby(self) -> str:
        """awork's `filterby` for this period."""
        expression = (
            f"startDateUtc ge datetime'{self.start.isoformat()}T00:00:00' and "
            f"startDateUtc le datetime'{self.end.isoformat()}T23:59:59'"
        )
        if self.project:
            expression += f" and projectId eq guid'{self.project}'"
        return expression

    def describe(self) -> str:
        """`2026-10-01..2026-10-31, project 1f0c…` for summaries."""
        scope = f"project {self.project}" if self.project else "all projects"
        return f"{self.start.isoformat()}..{self.end.isoformat()}, {scope}"


async def patiently(step: Callable[[], Awaitable[T]], attempts: int) -> T:
    """`step()` until it succeeds; raises its last transient error after `attempts` tries."""
    failures = waits = 0
    while True:
        try:
            return await step()
        except AworkRateLimited as e:
            waits += 1
            if waits > MAX_RATE_LIMIT_WAITS:
                raise
            await asyncio.sleep((e.retry_after or 1.0) + random.uniform(0, 0.25))
        except AworkRetryable as e:
            failures += 1
            if failures >= attempts:
                raise
            delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (failures - 1))
            log.warning("awork failed (%s); try %d of %d in %.1f s", e, failures + 1, attempts,
                        delay)  # fmt: skip
            await asyncio.sleep(delay + random.uniform(0, delay / 4))
