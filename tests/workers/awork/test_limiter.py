"""The shared rate limit (`workers.awork.limiter`) and the awork client using it, on a real Redis.

Two `Limiter` instances with their own Redis connections stand for two worker processes (or
pods): together they must stay within the configured budget in every window, the way awork
counts (api-notes 3; the sandbox counts in sliding windows).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.redis import connect
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.support.config import REDIS_URL, SANDBOX_TOKEN
from workers.awork import AworkClient, AworkRateLimited, Transport
from workers.awork.limiter import Limiter, Rates
from workers.awork.transport import MAX_INLINE_WAIT
from workers.telemetry import WorkerMetrics

SLACK = 0.03
"""Grant times are taken on the client: a window this much shorter absorbs loopback jitter."""


@pytest.fixture
async def second_redis() -> AsyncIterator[Redis]:
    """Another connection, as a second worker process would have."""
    client = connect(REDIS_URL)
    yield client
    await client.aclose()


def limiters(redis: Redis, other: Redis, prefix: str, rates: Rates) -> list[Limiter]:
    keys = Keys(prefix)
    return [Limiter(redis, keys, rates), Limiter(other, keys, rates)]


async def hammer(limiter: Limiter, until: float, grants: list[float]) -> None:
    """Take calls as fast as the limiter allows until `until`, recording each grant."""
    while time.monotonic() < until:
        wait = await limiter.acquire()
        if wait == 0:
            grants.append(time.monotonic())
        else:
            await asyncio.sleep(min(wait, until - time.monotonic(), 0.5))


def most_in_window(grants: list[float], window: float) -> int:
    ordered = sorted(grants)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_workers_together_stay_within_the_per_second_budget(
    redis: Redis, second_redis: Redis, prefix: str
) -> None:
    rates = Rates(per_second=20, per_minute=10_000)
    grants: list[float] = []
    until = time.monotonic() + 2.5
    tasks = [hammer(lim, until, grants) for lim in limiters(redis, second_redis, prefix, rates)]
    await asyncio.gather(*(tasks * 4))  # four concurrent jobs per worker
    assert most_in_window(grants, 1.0 - SLACK) <= 20
    assert len(grants) >= 45, "the budget should be usable, not starved"


async def test_two_workers_together_stay_within_the_per_minute_budget(
    redis: Redis, second_redis: Redis, prefix: str
) -> None:
    rates = Rates(per_second=30, per_minute=45)
    grants: list[float] = []
    until = time.monotonic() + 2.5
    tasks = [hammer(lim, until, grants) for lim in limiters(redis, second_redis, prefix, rates)]
    await asyncio.gather(*(tasks * 4))
    # the whole run lies inside one minute: the minute budget caps it
    assert len(grants) == 45
    assert most_in_window(grants, 1.0 - SLACK) <= 30


async def test_a_pause_holds_every_worker(redis: Redis, second_redis: Redis, prefix: str) -> None:
    first, second = limiters(redis, second_redis, prefix, Rates(40, 900))
    assert await second.acquire() == 0
    await first.pause(1.5)
    wait = await second.acquire()
    assert 1.2 <= wait <= 1.5
    await first.pause(0.2)  # a shorter pause never shortens a longer one
    assert await second.acquire() >= 1.0


@pytest.fixture
async def sandbox_faults() -> AsyncIterator[tuple[str, Faults]]:
    faults = Faults()
    app = create_sandbox(seed_workspace(entries=5, seed=1), faults=faults)
    async with running(app) as url:
        yield url, faults


@pytest.fixture
async def clients(
    redis: Redis, second_redis: Redis, prefix: str, sandbox_faults: tuple[str, Faults]
) -> AsyncIterator[list[AworkClient]]:
    """Two awork clients (two workers) sharing one limiter key, against the sandbox."""
    url, _ = sandbox_faults
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as http:
        yield [
            AworkClient(Transport(http, limiter, WorkerMetrics()))
            for limiter in limiters(redis, second_redis, prefix, Rates(40, 900))
        ]


async def test_a_429_pauses_every_worker_until_ratelimit_reset(
    clients: list[AworkClient], sandbox_faults: tuple[str, Faults]
) -> None:
    _, faults = sandbox_faults
    faults.update({"force_429": 1, "reset_seconds": 3})
    with pytest.raises(AworkRateLimited) as caught:
        await clients[0].me()
    assert caught.value.status == 429
    assert caught.value.retry_after == 3
    # the other worker does not even try: the wait is longer than MAX_INLINE_WAIT, so its job
    # gets the wait back to turn into `Retry(defer=…)` instead of holding a slot asleep
    started = time.monotonic()
    with pytest.raises(AworkRateLimited) as deferred:
        await clients[1].me()
    assert time.monotonic() - started < 0.5
    assert deferred.value.retry_after is not None
    assert MAX_INLINE_WAIT < deferred.value.retry_after <= 3


async def test_a_short_wait_is_awaited_in_place(
    clients: list[AworkClient], redis: Redis, prefix: str
) -> None:
    await Limiter(redis, Keys(prefix), Rates(40, 900)).pause(0.6)
    started = time.monotonic()
    me = await clients[1].me()
    assert me["id"]
    assert 0.5 <= time.monotonic() - started < MAX_INLINE_WAIT


async def test_low_remaining_budget_slows_every_worker_down(
    clients: list[AworkClient], sandbox_faults: tuple[str, Faults]
) -> None:
    """Other integrations share awork's budget: `x-ratelimit-remaining-second: 0` holds calls
    for a second, although this service's own limiter would allow more."""
    _, faults = sandbox_faults
    faults.update({"rate_per_second": 3})
    for _ in range(3):
        await clients[0].me()  # the third answer says nothing is left this second
    started = time.monotonic()
    await clients[1].me()
    assert time.monotonic() - started >= 0.8


async def test_low_remaining_minute_budget_pauses_until_reset(
    clients: list[AworkClient], sandbox_faults: tuple[str, Faults]
) -> None:
    _, faults = sandbox_faults
    faults.update({"rate_per_minute": 5})
    for _ in range(3):
        await clients[0].me()  # the third answer says only 2 calls are left this minute
    with pytest.raises(AworkRateLimited) as caught:  # paused ~60 s: deferred, not slept
        await clients[1].me()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > MAX_INLINE_WAIT
