"""The long-running commands: `serve` (the web app), `worker`, `healthcheck` (the worker's
liveness probe), and the local ones: `sandbox`, `demo`, `run`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from service.contract.settings import Settings, load_settings, require
from workers.cli.operator import CliError
from workers.rules.parser import load_rules
from workers.telemetry import configure_logging


def serve(args: argparse.Namespace) -> int:
    """`awork-billing serve`: the web app under uvicorn (`service.app:app`)."""
    import uvicorn

    settings = load_settings()
    require(settings, "webhook_token")
    _configure(settings)
    uvicorn.run(
        "service.app:app",
        host=args.host,
        port=args.port,
        access_log=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=settings.uvicorn_timeout_graceful_shutdown,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_config=None,
    )
    return 0


def worker(args: argparse.Namespace) -> int:
    """`awork-billing worker`: an arq worker (`workers.main.WorkerSettings`)."""
    from arq.worker import Worker

    from workers.jobs import worker_options

    settings = load_settings()
    require(settings, "awork_api_token")
    load_rules(settings.rules_file)  # a bad rules file: one line and exit 2, before connecting
    _configure(settings)
    Worker(**worker_options(settings)).run()
    return 0


def healthcheck(args: argparse.Namespace) -> int:
    """`awork-billing healthcheck`: exit 0 when this pod's worker loop touched its heartbeat."""
    from workers.jobs.lifecycle import HEARTBEAT_FILE

    try:
        age = time.time() - Path(HEARTBEAT_FILE).stat().st_mtime
    except FileNotFoundError:
        raise CliError(f"no heartbeat at {HEARTBEAT_FILE}: the worker has not started") from None
    if age > args.max_age:
        raise CliError(f"heartbeat is {age:.0f}s old (limit {args.max_age:.0f}s)")
    print(f"ok: heartbeat {age:.1f}s old")
    return 0


def sandbox(args: argparse.Namespace) -> int:
    """`awork-billing sandbox`: the fake awork API on 127.0.0.1 until Ctrl-C."""
    from workers.cli.stack import serve_sandbox

    asyncio.run(serve_sandbox(args.port, args.entries))
    return 0


def demo(args: argparse.Namespace) -> int:
    """`awork-billing demo` (`make demo`): the whole pipeline once, on local defaults."""
    from workers.cli.demo import run_demo

    return asyncio.run(run_demo())


def run(args: argparse.Namespace) -> int:
    """`awork-billing run` (`make run`): web app + worker (+ sandbox when no awork is set)."""
    from workers.cli.stack import run_services

    asyncio.run(run_services())
    return 0


def _configure(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
