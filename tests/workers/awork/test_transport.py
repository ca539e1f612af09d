"""Bounded trust in what awork says, and a pool the limiter never overbooks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.support.config import make_settings
from workers.awork import AworkRateLimited
from workers.process import ProcessContext


async def test_a_garbage_ratelimit_reset_pauses_for_two_minutes_at_most(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    faults = Faults(force_429=1, reset_seconds=10**9)  # a proxy's idea of a reset: ~32 years
    async with running(create_sandbox(seed_workspace(entries=5), faults=faults)) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        process = ProcessContext.create(settings, redis=redis)
        try:
            with pytest.raises(AworkRateLimited) as caught:
                await process.awork.me()
        finally:
            await process.aclose()
    assert caught.value.retry_after == 120
    assert 0 < await redis.pttl(Keys(prefix).limiter_pause) <= 121_000


async def test_more_calls_than_connections_wait_for_one_instead_of_timing_out(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """20 slow calls through one connection: httpx's pool would give up after 10 s
    (`PoolTimeout`, counted as awork timing out); here each waits its turn."""
    faults = Faults(slow_rate=1.0, slow_seconds=0.6)
    async with running(create_sandbox(seed_workspace(entries=5), faults=faults)) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url, awork_max_connections=1)
        process = ProcessContext.create(settings, redis=redis)
        try:  # before: AworkRetryable("did not answer in time (PoolTimeout…)")
            answers = await asyncio.gather(*(process.awork.me() for _ in range(20)))
        finally:
            await process.aclose()
    assert len({a["id"] for a in answers}) == 1
