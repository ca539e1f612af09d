"""Warn about an unsafe Redis (no persistence, an evicting policy) — at start-up when Redis
answers then, else as soon as it does.

The web app starts whether or not Redis is there yet: a pod may well come up before it. Until
Redis answers, `/livez` says 200, `/readyz` and every webhook 503 (so awork retries), and the
check retries in the background with back-off.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis

from service.contract.redis import persistence_warnings

log = logging.getLogger(__name__)

AT_START_UP = 1.0
"""Seconds start-up waits for Redis to answer before it goes on without it."""
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0
"""Seconds between later attempts: doubling from the first to the longest."""


async def check_persistence(redis: Redis) -> asyncio.Task[None] | None:
    """Warn now if Redis answers within `AT_START_UP`; else return the task that will."""
    try:
        await asyncio.wait_for(redis.ping(), AT_START_UP)
    except Exception as e:  # not there yet: the routes answer 503 meanwhile
        log.warning("Redis is not reachable yet (%s): webhooks get 503", type(e).__name__)
        return asyncio.create_task(_when_reachable(redis), name="redis-persistence-check")
    await _warn(redis)
    return None


async def _when_reachable(redis: Redis) -> None:
    pause = FIRST_PAUSE
    while True:
        await asyncio.sleep(pause)
        try:
            await redis.ping()
            break
        except Exception:  # still away: keep trying, ever more slowly
            pause = min(2 * pause, LONGEST_PAUSE)
    log.info("Redis answers: webhooks are accepted")
    await _warn(redis)


async def _warn(redis: Redis) -> None:
    for warning in await persistence_warnings(redis):
        log.warning(warning)
