"""The worker: `arq workers.main.WorkerSettings` (settings from the environment), or
`worker_options(settings)` for an explicit configuration (the CLI and the tests).
"""

from __future__ import annotations

import sys
from typing import Any

from arq import cron, func

from service.queue import FLUSH_FUNCTION, Keys, deserialize, serialize
from service.settings import Settings, SettingsError, load_settings
from service.store import arq_settings
from workers.context import shutdown, startup
from workers.flush import flush
from workers.reconcile import reconcile
from workers.sweeper import CHECK_WEBHOOK_FUNCTION, RECONCILE_FUNCTION, sweep
from workers.telemetry import counted
from workers.webhookhealth import check_webhook

SWEEP_SECONDS = set(range(0, 60, 5))


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `arq.worker.Worker` for `settings`."""
    # One timeout for every function: arq's crash recovery waits for the longest one (+10 s),
    # so a killed worker's batch is re-run after FLUSH_TIMEOUT_SECONDS + 10 s (stack-notes 4).
    timeout = settings.flush_timeout_seconds
    return {
        "functions": [
            func(
                counted(FLUSH_FUNCTION, flush),
                name=FLUSH_FUNCTION,
                max_tries=10_000,
                timeout=timeout,
            ),
            func(
                counted(RECONCILE_FUNCTION, reconcile),
                name=RECONCILE_FUNCTION,
                max_tries=3,
                timeout=timeout,
            ),
            func(
                counted(CHECK_WEBHOOK_FUNCTION, check_webhook),
                name=CHECK_WEBHOOK_FUNCTION,
                max_tries=1,
                timeout=timeout,
            ),
        ],
        "cron_jobs": [
            cron(
                counted("sweep", sweep),
                name=f"cron:{settings.redis_prefix}:sweep",
                second=SWEEP_SECONDS,
                unique=True,
                timeout=timeout,
                run_at_startup=True,
            )
        ],
        "queue_name": Keys(settings.redis_prefix).queue,
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


def _from_environment() -> dict[str, Any]:
    try:
        return worker_options(load_settings())
    except SettingsError as e:
        print(f"awork-billing worker: {e}", file=sys.stderr)
        raise SystemExit(2) from None


class WorkerSettings:
    """For `arq workers.main.WorkerSettings`; arq reads only this class's own attributes."""

    _options = _from_environment()
    functions = _options["functions"]
    cron_jobs = _options["cron_jobs"]
    queue_name = _options["queue_name"]
    redis_settings = _options["redis_settings"]
    on_startup = _options["on_startup"]
    on_shutdown = _options["on_shutdown"]
    max_jobs = _options["max_jobs"]
    poll_delay = _options["poll_delay"]
    keep_result = _options["keep_result"]
    job_completion_wait = _options["job_completion_wait"]
    job_serializer = _options["job_serializer"]
    job_deserializer = _options["job_deserializer"]
    health_check_interval = _options["health_check_interval"]
    ctx = _options["ctx"]
