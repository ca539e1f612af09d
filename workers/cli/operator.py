"""What an operator's command holds while it runs, with every failure as one line.

    CliError(message, code)     a failure to report on one line of stderr; `code` is the exit
                                code: 1 when Redis or awork failed, 2 for bad input

`operator_context(settings)` is the command's `ProcessContext` (Redis answered PING; awork's
client shares the workers' rate limiter, so an operator's calls and the workers' stay under one
budget); `operator_billing(settings)` the `Billing` on it (rules loaded, type-of-work names
resolved), exactly as a worker builds them. Inside each, a lost Redis or an awork error becomes
a `CliError` naming what failed; nothing else is caught.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.contract.settings import Settings, require
from workers.apply.billing import Billing
from workers.awork.errors import AworkError, AworkRateLimited
from workers.process import ProcessContext, process_context
from workers.telemetry import WorkerMetrics

REDIS_RETRIES = 3
"""A command fails within about five seconds when Redis is down (4.4 s measured), instead of
waiting as the workers do."""


class CliError(Exception):
    """A failure to report on one line; `code` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@contextlib.asynccontextmanager
async def operator_context(
    settings: Settings, *, awork: bool = True, metrics: WorkerMetrics | None = None
) -> AsyncIterator[ProcessContext]:
    """The command's process context; `awork`: it will call awork (needs `AWORK_API_TOKEN`)."""
    if awork:
        require(settings, "awork_api_token")
    async with process_context(settings, redis_retries=REDIS_RETRIES, metrics=metrics) as context:
        with redis_errors(settings), awork_errors(settings):
            await context.redis.ping()
            yield context


@contextlib.asynccontextmanager
async def operator_billing(
    settings: Settings, metrics: WorkerMetrics | None = None
) -> AsyncIterator[Billing]:
    """`Billing` for `settings`, as a worker builds it at start-up (`RULES_FILE` and all)."""
    async with operator_context(settings, metrics=metrics) as context:
        with awork_errors(settings):
            yield await Billing.start(context, patient=False)


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
