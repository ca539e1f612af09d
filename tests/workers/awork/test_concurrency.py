"""`gather_limited`: bounded, ordered, failing with the first error itself once the calls in
flight have finished."""

from __future__ import annotations

import asyncio
import functools

import pytest

from workers.awork.concurrency import gather_limited


async def test_results_in_order_and_never_more_than_the_limit_at_once() -> None:
    running = 0
    peak = 0

    async def job(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01 * (5 - i % 5))
        running -= 1
        return i

    results = await gather_limited((functools.partial(job, i) for i in range(20)), limit=3)
    assert results == list(range(20))
    assert peak == 3


async def test_calls_in_flight_finish_after_a_failure_and_no_new_one_starts() -> None:
    """A write awork may already have applied must get its answer (and its audit line)."""
    finished: list[int] = []

    async def job(i: int) -> int:
        if i == 2:
            await asyncio.sleep(0.01)
            raise LookupError("boom")
        await asyncio.sleep(0.05)
        finished.append(i)
        return i

    with pytest.raises(LookupError, match="boom"):
        await gather_limited((functools.partial(job, i) for i in range(10)), limit=4)
    assert sorted(finished) == [0, 1, 3]  # in flight with the failure; 4… never started


async def test_a_failure_leaves_the_calling_task_uncancelled() -> None:
    """Python 3.11.2: a TaskGroup's failure left `cancelling() == 1` on the caller, and a later
    `asyncio.timeout` (redis-py's connection check) raised CancelledError instead."""

    async def fail() -> None:
        raise LookupError("boom")

    with pytest.raises(LookupError):
        await gather_limited([fail])
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    with pytest.raises(TimeoutError):  # not CancelledError
        async with asyncio.timeout(0):
            await asyncio.sleep(0.01)
