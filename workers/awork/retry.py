"""One transient-error policy for every awork call that may be tried again.

Every call the service makes is idempotent (reads; "set to X" writes), so repeating one cannot
do harm; what differs is how long to wait:

- **in place** (`quick`): a 5xx or a lost connection is tried again right away, twice, after
  ~0.2 s and ~0.4 s — with a fifth of awork's answers failing, a flush needing 20 calls would
  almost never get through otherwise. Not timeouts (each already cost `AWORK_TIMEOUT_SECONDS`)
  nor 429s (the shared limiter decides when to call again).
- **backing off** (`backoff`): after that, the job (or the operator's command) tries again
  after 0.5 s, 1 s, 2 s, … capped at `BACKOFF_CAP` seconds, with ±20 % jitter so that workers
  that failed together do not return together.
- **rate limited** (`rate_limit_delay`): as long as awork (`ratelimit-reset`) or the shared
  limiter says, plus a little jitter.

`patiently(step, attempts)` runs one step of an operator's command until it succeeds. `sleep`
and `jitter` are injectable, for tests.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from workers.awork.errors import AworkRateLimited, AworkRetryable

log = logging.getLogger(__name__)

T = TypeVar("T")

QUICK_RETRIES = 2
"""In-place tries of a 5xx or a lost connection before the error is raised."""
QUICK_BASE_SECONDS = 0.2
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 60.0
JITTER = 0.2
"""Each back-off is multiplied by a random factor in [1 - JITTER, 1 + JITTER]."""
RATE_LIMIT_JITTER_SECONDS = 0.5
DEFAULT_RATE_LIMIT_WAIT = 1.0
"""When a rate limit came without a `retry_after`."""
MAX_RATE_LIMIT_WAITS = 100
"""Rate-limit waits in a row before an operator's command gives up (other integrations may
hog the budget)."""


def _uniform(low: float, high: float) -> float:
    return random.uniform(low, high)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying an awork call again (module docstring)."""

    quick_retries: int = QUICK_RETRIES
    backoff_cap: float = BACKOFF_CAP_SECONDS
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    jitter: Callable[[float, float], float] = field(default=_uniform, compare=False)

    def quick(self, error: AworkRetryable, attempt: int) -> bool:
        """Whether try number `attempt` (0-based) that failed with `error` is repeated in place."""
        timeout = isinstance(error.__cause__, httpx.TimeoutException)
        limited = isinstance(error, AworkRateLimited)
        return attempt < self.quick_retries and not timeout and not limited

    def quick_delay(self, attempt: int) -> float:
        """The pause before in-place try `attempt + 1`."""
        return float(QUICK_BASE_SECONDS * 2**attempt * self.jitter(1 - JITTER, 1 + JITTER))

    def backoff(self, failures: int) -> float:
        """The pause after `failures` (≥ 1) failed tries in a row."""
        base = min(self.backoff_cap, BACKOFF_BASE_SECONDS * 2.0 ** max(failures - 1, 0))
        return base * self.jitter(1 - JITTER, 1 + JITTER)

    def rate_limit_delay(self, error: AworkRateLimited) -> float:
        """The pause a rate limit asks for."""
        wait = error.retry_after or DEFAULT_RATE_LIMIT_WAIT
        return wait + self.jitter(0, RATE_LIMIT_JITTER_SECONDS)

    async def patiently(self, step: Callable[[], Awaitable[T]], attempts: int) -> T:
        """`step()` until it succeeds; its last transient error is raised after `attempts`
        failed tries (or `MAX_RATE_LIMIT_WAITS` rate limits in a row)."""
        failures = waits = 0
        while True:
            try:
                return await step()
            except AworkRateLimited as e:
                waits += 1
                if waits > MAX_RATE_LIMIT_WAITS:
                    raise
                await self.sleep(self.rate_limit_delay(e))
            except AworkRetryable as e:
                failures += 1
                if failures >= attempts:
                    raise
                delay = self.backoff(failures)
                next_try = failures + 1
                log.warning(
                    "awork failed (%s); try %d of %d in %.1f s", e, next_try, attempts, delay
                )
                await self.sleep(delay)


POLICY = RetryPolicy()
"""The policy in force (tests build their own with a fake `sleep`)."""
