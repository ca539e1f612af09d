"""Bounded concurrency for awork calls within one job (the shared limiter still paces them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

CALLS_IN_FLIGHT = 6
"""Calls one flush keeps in flight: enough to hide awork's latency (~0.1–0.3 s a bulk call)
behind its rate limit, few enough to leave the shared budget to other workers."""


async def gather_limited(
    jobs: Iterable[Callable[[], Awaitable[T]]], limit: int = CALLS_IN_FLIGHT
) -> list[T]:
    """Call `jobs` (functions returning awaitables; a coroutine made but cancelled before it
    starts would never be awaited) at most `limit` at a time; results in order. On the first
    failure the others are cancelled and that failure is raised as itself (not wrapped in an
    ExceptionGroup), so callers keep handling `AworkRetryable` & co. as usual."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(job)) for job in jobs]
    except BaseExceptionGroup as e:
        raise _first(e) from None
    return [task.result() for task in tasks]


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
