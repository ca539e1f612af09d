"""What a worker must learn from awork before it can apply rules — the API user (`GET /me`, the
author of its own writes) and the types of work the rules name — learnt patiently.

A worker never exits because awork or Redis is unwell at start-up (on Kubernetes that would be
a crash loop exactly when a fan-out started the pod): a 429 waits for `ratelimit-reset`, a 5xx,
a timeout or a lost connection backs off with jitter, without an upper bound on time, and each
wait is logged. While awork is away, what an earlier start read (kept in Redis) is used instead.
A permanent refusal (a wrong token: 401) is raised: that is a configuration error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from workers.awork.errors import AworkRateLimited, AworkRetryable
from workers.awork.retry import POLICY, RetryPolicy
from workers.process import ProcessContext
from workers.rules.model import RuleSet

log = logging.getLogger(__name__)

TRANSIENT = (AworkRetryable, RedisConnectionError, RedisTimeoutError)
"""What start-up waits out (every `AworkRateLimited` is an `AworkRetryable`)."""


async def api_user(process: ProcessContext, policy: RetryPolicy = POLICY) -> str:
    """The API user's id, from awork or (while awork is away) as an earlier start read it."""

    async def fetch() -> str:
        return str((await process.awork.me())["id"])

    # the id as plain text: the web app's ingest script compares each webhook's author with it
    # to tell the service's own echoes (a JSON-quoted id would make every echo a person's event)
    value = await patiently(process, "GET /me", fetch, process.keys.me, policy, codec=TEXT)
    return str(value)


async def resolve_types_patiently(
    process: ProcessContext, rules: RuleSet, policy: RetryPolicy = POLICY
) -> RuleSet:
    """`rules` with every type-of-work name replaced by awork's id (unknown name: RulesError)."""
    if not rules.type_of_work_names():
        return rules

    async def fetch() -> dict[str, str]:
        types = await process.awork.types_of_work()
        return {str(t["name"]): str(t["id"]) for t in types if t.get("name")}

    key = process.keys.types_of_work
    names = await patiently(process, "GET /typeofwork", fetch, key, policy)
    return rules.resolve_types(names)


@dataclass(frozen=True)
class Codec:
    """How a start-up value is kept in Redis."""

    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]


def _text(raw: bytes) -> str:
    text = raw.decode()
    # a cache an earlier version wrote as JSON ("…") reads the same
    return str(orjson.loads(raw)) if text.startswith('"') else text


JSON = Codec(orjson.dumps, orjson.loads)
TEXT = Codec(lambda value: str(value).encode(), _text)


async def patiently(
    process: ProcessContext,
    what: str,
    fetch: Callable[[], Awaitable[Any]],
    cache_key: str,
    policy: RetryPolicy,
    codec: Codec = JSON,
) -> Any:
    """`fetch()` until it succeeds (then cached under `cache_key`), or the cached value while
    awork is away; each wait logged."""
    failures = 0
    while True:
        try:
            value = await fetch()
        except TRANSIENT as e:
            cached = await _cached(process, cache_key, codec)
            if cached is not None:
                log.warning("start-up: %s failed (%s); using what an earlier start read", what, e)
                return cached
            failures += 1
            delay = _delay(policy, e, failures)
            log.warning("start-up: %s failed (%s); trying again in %.1f s", what, e, delay)
            await policy.sleep(delay)
            continue
        await _store(process, cache_key, value, codec)
        return value


def _delay(policy: RetryPolicy, error: Exception, failures: int) -> float:
    if isinstance(error, AworkRateLimited):
        return policy.rate_limit_delay(error)
    return policy.backoff(failures)


async def _cached(process: ProcessContext, key: str, codec: Codec) -> Any:
    try:
        raw = await process.redis.get(key)
    except (RedisConnectionError, RedisTimeoutError):
        return None
    return None if raw is None else codec.loads(raw)


async def _store(process: ProcessContext, key: str, value: Any, codec: Codec) -> None:
    try:
        await process.redis.set(key, codec.dumps(value))
    except (RedisConnectionError, RedisTimeoutError) as e:  # the next start reads awork again
        log.warning("start-up: could not cache %s in Redis: %s", key, e)
