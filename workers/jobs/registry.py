"""The worker's jobs as arq runs them: `worker_options(settings)` are the keyword arguments of
`arq.worker.Worker` (`workers.main.WorkerSettings` carries the same for `arq …`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from arq import Retry, cron, func
from arq.connections import RedisSettings

from service.contract.keys import Keys
from service.contract.queue import FLUSH_FUNCTION, deserialize, serialize
from service.contract.redis import RETRY_ON, retry_policy
from service.contract.settings import Settings
from workers.jobs.flush import flush
from workers.jobs.lifecycle import shutdown, startup
from workers.jobs.reconcile import reconcile
from workers.jobs.sweep import CHECK_WEBHOOK_FUNCTION, RECONCILE_FUNCTION, sweep
from workers.jobs.webhookhealth import check_webhook
from workers.telemetry import WorkerMetrics

T = TypeVar("T")

SWEEP_SECONDS = set(range(0, 60, 5))
"""The sweep runs every 5 s (cron seconds)."""


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `arq.worker.Worker` for `settings`."""
    # One timeout for every function: arq's crash recovery waits for the longest one (+10 s),
    # so a killed worker's batch is re-run after FLUSH_TIMEOUT_SECONDS + 10 s (stack-notes 4).
    timeout = settings.flush_timeout_seconds
    keys = Keys(settings.redis_prefix)
    jobs = (
        (FLUSH_FUNCTION, flush, 10_000),
        (RECONCILE_FUNCTION, reconcile, 3),
        (CHECK_WEBHOOK_FUNCTION, check_webhook, 1),
    )
    return {
        "functions": [
            func(counted(name, job), name=name, max_tries=tries, timeout=timeout)
            for name, job, tries in jobs
        ],
        "cron_jobs": [
            cron(
                counted("sweep", sweep),
                name=keys.cron_name("sweep"),
                second=SWEEP_SECONDS,
                unique=True,
                timeout=timeout,
                run_at_startup=True,
            )
        ],
        "queue_name": keys.queue,
        "redis_settings": arq_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": 0.1,
        "keep_result": 0,
        "job_completion_wait": settings.worker_job_completion_wait_seconds,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "health_check_interval": 15,
        "ctx": {"settings": settings},
    }


CONNECT_TRIES = 10**9
"""arq's first connection is tried this often (every `CONNECT_DELAY_SECONDS`, each try logged):
a worker waits for Redis at start-up instead of exiting into a crash loop."""
CONNECT_DELAY_SECONDS = 2


def arq_settings(url: str) -> RedisSettings:
    """arq's `RedisSettings` for `url`, with the retry policy of `service.contract.redis`: without
    it a Redis blip kills the worker (stack-notes section 4, "Redis outage")."""
    settings = RedisSettings.from_dsn(url)
    settings.retry = retry_policy()
    settings.retry_on_error = list(RETRY_ON)
    settings.conn_timeout = 2
    settings.conn_retries = CONNECT_TRIES
    settings.conn_retry_delay = CONNECT_DELAY_SECONDS
    return settings


def counted(name: str, job: Callable[..., Awaitable[T]]) -> Callable[..., Coroutine[Any, Any, T]]:
    """`job` counting its outcomes in `awork_billing_jobs_total{function, outcome}`."""

    @functools.wraps(job)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> T:
        outcome = "failed"
        try:
            result = await job(ctx, *args, **kwargs)
            outcome = "success"
            return result
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            process = ctx.get("process")
            metrics: WorkerMetrics | None = getattr(process, "metrics", None)
            if metrics is not None:
                metrics.jobs.labels(name, outcome).inc()

    return wrapper
