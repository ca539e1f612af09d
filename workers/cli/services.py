"""The long-running commands: `serve` (the web app), `worker`, `healthcheck` (the worker's
liveness probe), and the local ones: `sandbox`, `demo`, `run`.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from service.contract.settings import Settings, load_settings, require
from workers.cli.operator import CliError
from workers.jobs import heartbeat
from workers.jobs.heartbeat import Heartbeat, HeartbeatError
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
    """`awork-billing worker`: an arq worker (`workers.main.WorkerSettings`), its heartbeat
    fresh from the first moment — also while it waits for Redis or awork at start-up."""
    settings = load_settings()
    require(settings, "awork_api_token")
    load_rules(settings.rules_file)  # a bad rules file: one line and exit 2, before connecting
    _configure(settings)
    try:
        asyncio.run(_run_worker(settings))
    except HeartbeatError as e:
        raise CliError(str(e), 2) from None
    return 0


async def _run_worker(settings: Settings) -> None:
    from arq.worker import Worker

    from workers.jobs import worker_options

    heartbeat = Heartbeat(settings.heartbeat_path())
    heartbeat.start()
    options = worker_options(settings)
    options["ctx"]["heartbeat"] = heartbeat
    worker = Worker(**options)  # on this loop: arq's SIGTERM/SIGINT handlers drain it
    try:
        await worker.async_run()
    except asyncio.CancelledError:  # a signal stopped it
        pass
    finally:
        await worker.close()
        await heartbeat.stop()


def healthcheck(args: argparse.Namespace) -> int:
    """`awork-billing healthcheck [--ready]`: exit 0 when this pod's worker loop touched its
    heartbeat lately (and, with `--ready`, finished its start-up)."""
    path = load_settings().heartbeat_path()
    try:
        age, state = heartbeat.read(path)
    except FileNotFoundError:
        raise CliError(f"no heartbeat at {path}: the worker has not started") from None
    if age > args.max_age:
        raise CliError(f"heartbeat is {age:.0f}s old (limit {args.max_age:.0f}s)")
    if args.ready and state != heartbeat.READY:
        raise CliError(f"the worker is alive but not ready yet ({state})")
    print(f"ok: heartbeat {age:.1f}s old, {state}")
    return 0


def sandbox(args: argparse.Namespace) -> int:
    """`awork-billing sandbox`: the fake awork API on 127.0.0.1 until Ctrl-C."""
    from service.sandbox import seed_workspace
    from workers.cli.stack import serve_sandbox

    workspace = seed_workspace(
        entries=args.entries,
        seed=args.seed,
        retainer_client=args.retainer_client,
        project_budgets=args.project_budgets,
    )
    asyncio.run(serve_sandbox(args.port, workspace, args.seed))
    return 0


def demo(args: argparse.Namespace) -> int:
    """`awork-billing demo` (`make demo`): the whole pipeline once, on local defaults."""
    from workers.cli.demo import run_demo

    return asyncio.run(run_demo())


def run(args: argparse.Namespace) -> int:
    """`awork-billing run` (`make run`): web app + worker (+ sandbox when no awork is set)."""
    from workers.cli.stack import run_services

    asyncio.run(run_services(args.port))
    return 0


def _configure(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
