"""Bounded concurrency for awork calls within one job (the shared limiter still paces them).

Why not `asyncio.TaskGroup`: its first failure cancels the siblings in flight — writes awork may
already have applied, which then get no audit line and no fence — and on Python 3.11.2 the
cancellation it leaves on the calling task turns a later `asyncio.timeout` (redis-py wraps its
connection checks in one) into a `CancelledError` (fixed in 3.11.4, cpython#102780). Here every
call in flight finishes and is recorded by its caller; only calls not yet started are skipped
once one has failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

CALLS_IN_FLIGHT = 6
"""Calls one job keeps in flight: enough to hide awork's latency (~0.1–0.3 s a bulk call)
behind its rate limit, few enough to leave the shared budget to other workers."""


async def gather_limited(
    jobs: Iterable[Callable[[], Awaitable[T]]], limit: int = CALLS_IN_FLIGHT
) -> list[T]:
    """Call `jobs` (functions returning awaitables) at most `limit` at a time; results in order.

    After a failure no further job starts, those in flight finish, and then the first failure
    is raised as itself (not wrapped), so callers keep handling `AworkRetryable` & co. as usual.
    """
    pending = list(jobs)
    results: list[T | None] = [None] * len(pending)
    failures: list[Exception] = []
    gate = asyncio.Semaphore(limit)

    async def one(index: int, job: Callable[[], Awaitable[T]]) -> None:
        async with gate:
            if failures:
                return
            try:
                results[index] = await job()
            except Exception as e:  # recorded, raised once everything in flight is done
                failures.append(e)

    await asyncio.gather(*(one(i, job) for i, job in enumerate(pending)))
    if failures:
        raise failures[0]
    return results  # type: ignore[return-value]  # every slot is filled when none failed
