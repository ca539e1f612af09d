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
from workers.sweeper import sweep

FLUSH_TIMEOUT = 300
"""Longest flush; a killed worker's job is re-run after this + 10 s (arq's in-progress TTL)."""
SWEEP_SECONDS = set(range(0, 60, 5))
JOB_COMPLETION_WAIT = 25
"""On SIGTERM running jobs get this long to finish (Kubernetes grace period must be longer)."""


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `arq.worker.Worker` for `settings`."""
    return {
        "functions": [func(flush, name=FLUSH_FUNCTION, max_tries=10_000, timeout=FLUSH_TIMEOUT)],
        "cron_jobs": [
            cron(sweep, second=SWEEP_SECONDS, unique=True, timeout=60, run_at_startup=True)
        ],
        "queue_name": Keys(settings.redis_prefix).queue,
        "redis_settings": arq_settings(settings.redis_url),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": settings.worker_max_jobs,
        "poll_delay": 0.1,
        "keep_result": 0,
        "job_completion_wait": JOB_COMPLETION_WAIT,
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
