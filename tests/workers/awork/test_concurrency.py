"""`gather_limited`: bounded, ordered, and failing with the first error itself."""

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


async def test_the_first_failure_is_raised_as_itself_and_the_rest_cancelled() -> None:
    finished: list[int] = []

    async def job(i: int) -> int:
        if i == 2:
            raise LookupError("boom")
        await asyncio.sleep(0.05)
        finished.append(i)
        return i

    with pytest.raises(LookupError, match="boom"):
        await gather_limited((functools.partial(job, i) for i in range(10)), limit=4)
    await asyncio.sleep(0.1)
    assert finished == []
