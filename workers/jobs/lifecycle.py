"""A worker's life: arq's `on_startup` builds the process context and `Billing` once, keeps the
heartbeat fresh and watches the rules file; `on_shutdown` stops them and closes the context.

Start-up waits out awork and Redis being unwell (`workers.apply.startup`); it fails (and the
worker exits) only on what an operator must fix: a missing setting, an invalid rules file, a
token awork rejects, a rule naming a type of work awork does not have, a heartbeat that cannot
be written — never a silent skip. Jobs find what they need with `process_of(ctx)` and
`billing_of(ctx)`. Background tasks: the rules file watched, the budget gauge kept current.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from service.contract.redis import persistence_warnings
from service.contract.settings import Settings, load_settings
from workers.apply import budgets
from workers.apply.billing import Billing, resolve_types
from workers.awork.errors import AworkRetryable
from workers.jobs.heartbeat import Heartbeat
from workers.process import ProcessContext
from workers.rules.parser import load_rules
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

BUDGET_GAUGE_SECONDS = 30.0
"""How often a worker re-reads the budgets' uses into its gauge."""


def process_of(ctx: dict[str, Any]) -> ProcessContext:
    """The worker's process context (set by `startup`)."""
    process: ProcessContext = ctx["process"]
    return process


def billing_of(ctx: dict[str, Any]) -> Billing:
    """The worker's `Billing` (set by `startup`)."""
    billing: Billing = ctx["billing"]
    return billing


async def startup(ctx: dict[str, Any]) -> None:
    """arq `on_startup`: settings, rules, awork identity and types of work, metrics, heartbeat."""
    settings: Settings = ctx.get("settings") or load_settings()
    heartbeat = _heartbeat(ctx, settings)
    metrics: WorkerMetrics | None = ctx.get("metrics")
    # a Redis client of our own, not arq's pool: ours has socket timeouts (a lost answer is an
    # error that is retried, never a job hanging until arq's timeout) and retries connections
    process = ProcessContext.create(settings, metrics=metrics)
    # served from the start: a worker waiting for Redis or awork is up (and says what it waits
    # for in its metrics and logs), not missing
    _serve_metrics(ctx, process.metrics, settings.worker_metrics_port)
    try:
        billing = await Billing.start(process)
    except BaseException:
        await process.aclose()
        _stop_metrics(ctx)
        raise
    for warning in await persistence_warnings(process.redis):
        log.warning(warning)
    tasks = []
    if settings.rules_reload_seconds:
        tasks.append(asyncio.create_task(watch_rules(billing), name="rules-reload"))
    tasks.append(asyncio.create_task(show_budgets(billing), name="budget-gauges"))
    ctx.update(process=process, billing=billing, tasks=tasks)
    heartbeat.ready()
    rules = len(billing.rules.rules)
    log.info("worker ready: %d rules, api user %s, dry_run=%s", rules, billing.me, settings.dry_run)


async def shutdown(ctx: dict[str, Any]) -> None:
    """arq `on_shutdown`: stop the background tasks, close the process context."""
    for task in ctx.pop("tasks", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if ctx.pop("owns_heartbeat", False):
        await ctx.pop("heartbeat").stop()
    process: ProcessContext | None = ctx.get("process")
    if process is not None:
        await process.aclose()
    _stop_metrics(ctx)


def _heartbeat(ctx: dict[str, Any], settings: Settings) -> Heartbeat:
    """The heartbeat `awork-billing worker` started before connecting, or one of our own."""
    heartbeat: Heartbeat | None = ctx.get("heartbeat")
    if heartbeat is None:
        heartbeat = Heartbeat(settings.heartbeat_path())
        heartbeat.start()
        ctx.update(heartbeat=heartbeat, owns_heartbeat=True)
    return heartbeat


def _serve_metrics(ctx: dict[str, Any], metrics: WorkerMetrics, port: int) -> None:
    """Prometheus /metrics of this worker process on `port` (a thread; stopped at shutdown)."""
    if port and "metrics_server" not in ctx:
        server, _ = start_http_server(port, registry=metrics.registry)
        ctx["metrics_server"] = server


def _stop_metrics(ctx: dict[str, Any]) -> None:
    server = ctx.pop("metrics_server", None)
    if server is not None:
        server.shutdown()
        server.server_close()


async def watch_rules(billing: Billing) -> None:
    """Reload the rules when the file changes (a ConfigMap update): validated and resolved
    first; on any error the rules in force stay and the error is logged. A file in error is
    tried again when it changes; awork failing to resolve names, on the next tick."""
    settings = billing.process.settings
    path = Path(settings.rules_file)
    last = await asyncio.to_thread(_digest, path)
    while True:
        await asyncio.sleep(settings.rules_reload_seconds)
        current = await asyncio.to_thread(_digest, path)
        if current == last:
            continue
        try:
            rules = await resolve_types(billing.process.awork, load_rules(path))
        except AworkRetryable as e:
            log.warning("rules reload: awork unavailable (%s); trying again", e)
            continue
        except Exception as e:  # a RulesError, or anything else: the file must change
            log.error("rules reload failed, keeping the rules in force: %s", e)
            last = current
            continue
        last = current
        billing.rules = rules
        log.info("rules reloaded: %d rules from %s", len(rules.rules), path)


async def show_budgets(billing: Billing, interval: float = BUDGET_GAUGE_SECONDS) -> None:
    """Keep this process's budget gauge on the uses all workers share (`BudgetRecords`): the
    worker that evaluated a budget last may be another one."""
    while True:
        await asyncio.sleep(interval)
        if not budgets.wanted(billing.rules):
            continue
        try:
            await billing.budgets.records.refresh_gauges()
        except Exception as e:  # Redis away: the next tick tries again
            log.warning("budget gauges not refreshed: %s", e)


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None
