"""What an operator command holds while it runs — Redis, awork — with failures as one line.

    CliError(message, code)     a failure to report on one line of stderr; `code` is the exit
                                code: 1 when Redis or awork failed, 2 for bad input

`redis_session` yields a Redis client that answered PING; `awork_session` an `AworkClient` that
shares the workers' rate limiter (so an operator's calls and the workers' stay under one budget);
`worker_session` the whole `WorkerApp` (rules loaded, type-of-work names resolved) that
`apply_changes` and `evaluate_entries` take. Inside each, a lost Redis or an awork error becomes a
`CliError` naming what failed; nothing else is caught.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.queue import Keys
from service.settings import Settings, require
from service.store import connect
from workers.awork import AworkClient, AworkError, AworkRateLimited
from workers.context import WorkerApp, close_worker_app, create_worker_app, http_client
from workers.limiter import Limiter, Rates
from workers.telemetry import WorkerMetrics

REDIS_RETRIES = 3
"""A command fails within about two seconds when Redis is down, instead of the workers' 12 s."""


class CliError(Exception):
    """A failure to report on one line; `code` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@contextlib.asynccontextmanager
async def redis_session(settings: Settings) -> AsyncIterator[Redis]:
    """A Redis client for `REDIS_URL` that answered PING, closed on exit."""
    redis = connect(settings.redis_url, retries=REDIS_RETRIES)
    try:
        with redis_errors(settings):
            await redis.ping()
            yield redis
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def awork_session(settings: Settings) -> AsyncIterator[AworkClient]:
    """An awork client through the shared rate limiter (needs Redis and `AWORK_API_TOKEN`)."""
    require(settings, "awork_api_token")
    async with redis_session(settings) as redis:
        http = http_client(settings)
        rates = Rates(settings.awork_rate_per_second, settings.awork_rate_per_minute)
        limiter = Limiter(redis, Keys(settings.redis_prefix).limiter, rates)
        client = AworkClient(http, limiter, WorkerMetrics(), bulk_api=settings.awork_bulk_api)
        try:
            with awork_errors(settings):
                yield client
        finally:
            await http.aclose()


@contextlib.asynccontextmanager
async def worker_session(
    settings: Settings, metrics: WorkerMetrics | None = None
) -> AsyncIterator[WorkerApp]:
    """A `WorkerApp` for `settings`, as a worker builds it at start-up (`RULES_FILE` and all)."""
    async with redis_session(settings) as redis:
        with awork_errors(settings):
            app = await create_worker_app(settings, redis, metrics)
            try:
                yield app
            finally:
                await close_worker_app(app)


@contextlib.contextmanager
def redis_errors(settings: Settings) -> Iterator[None]:
    """Turn a Redis outage into a `CliError` naming the server (never its password)."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as e:
        raise CliError(f"cannot reach Redis at {redis_location(settings.redis_url)}: {e}") from e


@contextlib.contextmanager
def awork_errors(settings: Settings) -> Iterator[None]:
    """Turn an `AworkError` into a `CliError` with awork's URL and a hint where one helps."""
    try:
        yield
    except AworkRateLimited as e:
        wait = f"; try again in {e.retry_after:.0f} s" if e.retry_after else ""
        raise CliError(f"awork at {settings.awork_api_url}: {e}{wait}") from e
    except AworkError as e:
        hint = ""
        if e.status == 401:
            hint = " (check AWORK_API_TOKEN and the API user's rights)"
        trace = f" [trace {e.trace_id}]" if e.trace_id else ""
        raise CliError(f"awork at {settings.awork_api_url}: {e}{hint}{trace}") from e


def redis_location(url: str) -> str:
    """`host:port/db` of a Redis URL, without credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 6379}{parts.path or ''}"
