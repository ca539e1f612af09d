"""`arq workers.main.WorkerSettings`: the worker, configured from the environment (SPEC 2).

`workers.jobs.worker_options(settings)` gives the same for an explicit configuration (the CLI
and the tests).
"""

from __future__ import annotations

import sys
from typing import Any

from service.contract.settings import SettingsError, load_settings
from workers.jobs import worker_options


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
