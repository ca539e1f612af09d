"""Redis connections for both sides, configured to survive short outages, and what both sides
ask of a Redis (is it safe for a queue? which keys are one installation's?).

redis-py 5 retries nothing by default and arq passes `retry=None` through, so without these
settings a Redis blip kills a worker (stack-notes section 4, "Redis outage").
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.contract.keys import Keys

log = logging.getLogger(__name__)

RETRY_ON = [RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError]


def retry_policy(retries: int = 10) -> Retry:
    """redis-py's retry of a connection error: exponential back-off, capped at 2 s."""
    return Retry(ExponentialBackoff(cap=2, base=0.25), retries)


def connect(url: str, *, retries: int = 10) -> Redis:
    """A client for `url` that retries connection errors with back-off (10 tries: about 12 s).

    The web app uses few retries: a webhook waiting on a dead Redis should get its 503 quickly.
    """
    client: Redis = Redis.from_url(
        url,
        retry=retry_policy(retries),
        retry_on_error=list(RETRY_ON),
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )
    return client


def text(value: bytes | str) -> str:
    """A Redis reply as text (the clients here do not decode: queue payloads stay bytes)."""
    return value.decode() if isinstance(value, bytes) else value


async def persistence_warnings(redis: Redis) -> list[str]:
    """What makes this Redis unsafe for the queue: no persistence, or an evicting policy."""
    warnings: list[str] = []
    try:
        info = await redis.info("persistence")
        policy = (await redis.config_get("maxmemory-policy")).get("maxmemory-policy", "")
    except Exception as e:  # CONFIG may be disabled on managed Redis: say so, do not fail
        return [f"could not inspect Redis persistence settings ({e})"]
    if not int(info.get("aof_enabled", 0)) and not _has_rdb(await _save_config(redis)):
        warnings.append(
            "Redis has no persistence (appendonly no, no save points): a Redis restart "
            "loses every queued event. Turn on AOF (appendonly yes)."
        )
    if policy and policy != "noeviction":
        warnings.append(
            f"Redis maxmemory-policy is {policy!r}: under memory pressure it may evict queued "
            "events. Use noeviction."
        )
    return warnings


async def _save_config(redis: Redis) -> str:
    return str((await redis.config_get("save")).get("save", ""))


def _has_rdb(save: str) -> bool:
    return bool(save.strip())


async def purge_prefix(redis: Redis, prefix: str) -> int:
    """Delete every key of one installation (`<prefix>:*` and arq's keys of its jobs)."""
    deleted = 0
    for pattern in Keys(prefix).arq_patterns:
        batch: list[bytes] = []
        async for key in redis.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await redis.delete(*batch)
                batch = []
        if batch:
            deleted += await redis.delete(*batch)
    return deleted
