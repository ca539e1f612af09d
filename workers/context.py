"""What a worker process owns: created once in arq's `on_startup`, closed in `on_shutdown`.

Start-up fails (and the worker exits) when a setting is missing, the rules file is invalid, awork
rejects the token, or a rule names a type of work awork does not have — never a silent skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import start_http_server
from redis.asyncio import Redis

from service.ingest import Committer
from service.queue import Keys
from service.settings import Settings, load_settings, require
from service.store import persistence_warnings
from workers.awork import AworkClient
from workers.limiter import Limiter, Rates
from workers.lookups import Lookups
from workers.ruleset import RuleSet, load_rules
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

HEARTBEAT_FILE = Path(os.environ.get("WORKER_HEARTBEAT_FILE", "/tmp/awork-billing/worker.alive"))  # noqa: S108
HEARTBEAT_SECONDS = 5.0


@dataclass
class WorkerApp:
    """The worker's resources, in `ctx["app"]` for every job."""

    settings: Settings
    redis: Redis
    keys: Keys
    http: httpx.AsyncClient
    client: AworkClient
    rules: RuleSet
    me: str
    metrics: WorkerMetrics
    requeue: Committer
    lookups: Lookups
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client per process, with timeouts long enough for bulk calls."""
    token = settings.awork_api_token.get_secret_value() if settings.awork_api_token else ""
    return httpx.AsyncClient(
        base_url=settings.awork_api_url,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=httpx.Timeout(
            connect=5.0, read=settings.awork_timeout_seconds, write=10.0, pool=10.0
        ),
        limits=httpx.Limits(max_connections=settings.worker_max_jobs, keepalive_expiry=30),
        transport=httpx.AsyncHTTPTransport(retries=2),
    )


async def create_worker_app(
    settings: Settings, redis: Redis, metrics: WorkerMetrics | None = None
) -> WorkerApp:
    """Everything a job needs, for `settings` (the worker's start-up; the CLI uses it too).

    Raises `SettingsError` / `RulesError` / `AworkError` when the service cannot work.
    """
    require(settings, "awork_api_token")
    rules = load_rules(settings.rules_file)
    keys = Keys(settings.redis_prefix)
    metrics = metrics or WorkerMetrics()
    http = http_client(settings)
    rates = Rates(settings.awork_rate_per_second, settings.awork_rate_per_minute)
    client = AworkClient(http, Limiter(redis, keys.limiter, rates), metrics,
                         bulk_api=settings.awork_bulk_api)  # fmt: skip
    try:
        me = str((await client.me())["id"])
        rules = await resolve_types(client, rules)
    except BaseException:
        await http.aclose()
        raise
    await redis.set(keys.me, me)
    requeue = Committer.for_settings(redis, settings)
    lookups = Lookups(client, redis, keys, settings.lookup_cache_ttl_seconds)
    return WorkerApp(settings, redis, keys, http, client, rules, me, metrics, requeue, lookups)


async def close_worker_app(app: WorkerApp) -> None:
    """Stop the app's background tasks and close its HTTP client."""
    for task in app.tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app.http.aclose()


async def startup(ctx: dict[str, Any]) -> None:
    """arq `on_startup`: settings, rules, awork identity and types of work, metrics, heartbeat."""
    settings: Settings = ctx.get("settings") or load_settings()
    app = await create_worker_app(settings, ctx["redis"], ctx.get("metrics"))
    for warning in await persistence_warnings(app.redis):
        log.warning(warning)
    app.tasks.append(asyncio.create_task(_heartbeat(), name="heartbeat"))
    if settings.rules_reload_seconds:
        app.tasks.append(asyncio.create_task(watch_rules(app), name="rules-reload"))
    ctx["app"] = app
    _serve_metrics(ctx, app.metrics, settings.worker_metrics_port)
    log.info("worker ready: %d rules, api user %s, dry_run=%s", len(app.rules.rules), app.me,
             settings.dry_run)  # fmt: skip


async def shutdown(ctx: dict[str, Any]) -> None:
    """arq `on_shutdown`: stop the heartbeat, close the HTTP client."""
    app: WorkerApp | None = ctx.get("app")
    if app is not None:
        await close_worker_app(app)
    server = ctx.pop("metrics_server", None)
    if server is not None:
        server.shutdown()
        server.server_close()


async def resolve_types(client: AworkClient, rules: RuleSet) -> RuleSet:
    """`rules` with every type-of-work name replaced by awork's id (unknown name: RulesError)."""
    if not rules.type_of_work_names():
        return rules
    types = await client.types_of_work()
    return rules.resolve_types({str(t["name"]): str(t["id"]) for t in types if t.get("name")})


def _serve_metrics(ctx: dict[str, Any], metrics: WorkerMetrics, port: int) -> None:
    """Prometheus /metrics of this worker process on `port` (a thread; stopped at shutdown)."""
    if port and "metrics_server" not in ctx:
        server, _ = start_http_server(port, registry=metrics.registry)
        ctx["metrics_server"] = server


async def watch_rules(app: WorkerApp) -> None:
    """Reload the rules when the file changes (a ConfigMap update): validated and resolved
    first; on any error the rules in force stay and the error is logged."""
    path = Path(app.settings.rules_file)
    last = await asyncio.to_thread(_digest, path)
    while True:
        await asyncio.sleep(app.settings.rules_reload_seconds)
        current = await asyncio.to_thread(_digest, path)
        if current == last:
            continue
        last = current
        try:
            rules = await resolve_types(app.client, load_rules(path))
        except Exception as e:
            log.error("rules reload failed, keeping the rules in force: %s", e)
            continue
        app.rules = rules
        log.info("rules reloaded: %d rules from %s", len(rules.rules), path)


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


async def _heartbeat() -> None:
    """Touch the heartbeat file while the event loop runs (`awork-billing healthcheck` reads it)."""
    HEARTBEAT_FILE.parent.mkdir(parents=True, exist_ok=True)
    while True:
        HEARTBEAT_FILE.touch()  # noqa: ASYNC240 - a tmpfs touch does not block
        await asyncio.sleep(HEARTBEAT_SECONDS)
