"""Running the whole service on one machine: `make demo`, `make run`, `awork-billing sandbox`.

Everything runs in one asyncio loop — the awork sandbox, the web app (uvicorn on loopback) and an
arq worker — talking to each other over real HTTP and a real Redis, exactly as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from arq.worker import Worker

from service.app import create_app
from service.localredis import ensure
from service.queue import Keys, busy
from service.sandbox import Faults, Workspace, create_sandbox, running, seed_workspace
from service.settings import Settings, load_settings
from service.store import connect, purge_prefix
from workers import audit
from workers.main import worker_options
from workers.rules import plan
from workers.ruleset import load_rules
from workers.telemetry import configure_logging

DEMO_RULES = Path(__file__).with_name("demo-rules.yaml")
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's fixed, public demo token


async def serve_sandbox(port: int, entries: int) -> None:
    """The sandbox alone, until cancelled (Ctrl-C)."""
    app = create_sandbox(seed_workspace(entries=entries))
    async with running(app, port=port) as url:
        print(f"awork sandbox at {url} (token {SANDBOX_TOKEN!r}); Ctrl-C stops it")
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[Worker]:
    """An arq worker for `settings` in this loop (no signal handlers), stopped on exit."""
    worker = Worker(**{**worker_options(settings), "handle_signals": False})
    task = asyncio.create_task(worker.async_run())
    try:
        while "app" not in worker.ctx and not task.done():  # noqa: ASYNC110 - arq has no event
            await asyncio.sleep(0.05)
        if task.done():
            task.result()  # start-up failed: raise its error
        yield worker
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)  # its error was raised above
        # arq's close() gathers the job tasks first and stops at a cancelled one, skipping the
        # pool and on_shutdown: cancel and collect them here so close() only closes
        jobs = list(worker.tasks.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        worker.tasks.clear()
        await worker.close()


async def register_webhook(api_url: str, token: str, target: str, secret: str) -> str:
    """Create awork's webhook for time-entry events with header auth (`POST /webhooks`)."""
    body = {
        "name": "awork-billing",
        "uri": target,
        "events": "timetracking_added,timetracking_updated,timetracking_deleted,"
        "timetracking_type_changed",
        "isActive": True,
        "authenticationType": "header",
        "authentication": f"X-Webhook-Token={secret}",
    }
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {token}"}
    ) as c:
        response = await c.post("/webhooks", json=body)
        response.raise_for_status()
        return str(response.json()["id"])


@dataclass
class Stack:
    """The running pieces of a local installation."""

    settings: Settings
    sandbox_url: str
    web_url: str
    sandbox: Any


@contextlib.asynccontextmanager
async def local_stack(
    settings: Settings,
    workspace: Workspace | None = None,
    faults: Faults | None = None,
    ports: tuple[int, int] = (0, 0),
) -> AsyncIterator[Stack]:
    """Sandbox + web app + worker on loopback for `settings` (awork = the sandbox); `ports`:
    (sandbox, web app), 0 = any free port."""
    sandbox_app = create_sandbox(
        workspace or seed_workspace(entries=300), faults=faults or Faults()
    )
    async with running(sandbox_app, port=ports[0]) as sandbox_url:
        settings = settings.model_copy(update={"awork_api_url": sandbox_url})
        async with running(create_app(settings), port=ports[1]) as web_url:
            secret = settings.webhook_tokens()[0]
            await register_webhook(sandbox_url, SANDBOX_TOKEN, f"{web_url}/webhooks/awork", secret)
            async with worker_running(settings):
                yield Stack(settings, sandbox_url, web_url, sandbox_app.state.sandbox)


async def run_demo() -> int:
    """`make demo`: a burst of webhooks through the whole pipeline, then a summary table."""
    url = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    ensure(url)
    logging.getLogger().setLevel(logging.ERROR)  # the demo prints its own summary
    settings = load_settings(
        redis_url=url, redis_prefix="awb-demo", rules_file=str(DEMO_RULES),
        awork_api_token=SANDBOX_TOKEN, webhook_token=secrets.token_urlsafe(16),
        coalesce_window_seconds=1.0, log_level="WARNING",
        reconcile_interval_seconds=0,  # a fresh sandbox missed no webhook: show the webhook path
    )  # fmt: skip
    async with connect(url) as redis:
        await purge_prefix(redis, settings.redis_prefix)
        try:
            return await _demo(settings, redis)
        finally:
            await purge_prefix(redis, settings.redis_prefix)


async def _demo(settings: Settings, redis: Any) -> int:
    started = time.monotonic()
    async with local_stack(settings) as stack:
        rules = load_rules(settings.rules_file).resolve_types(
            {t["name"]: t["id"] for t in stack.sandbox.workspace.types_of_work.values()}
        )
        before = sum(len(plan(e, rules)) for e in stack.sandbox.workspace.entries.values())
        stack.sandbox.reset_calls()
        print(f"sandbox: {len(stack.sandbox.workspace.entries)} entries, {before} changes needed")
        async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=120) as client:
            report = (await client.post("/_sandbox/fanout", json={})).json()
        print(f"awork sent a burst of {report['deliveries']} webhooks "
              f"(answers: {report['statuses']})")  # fmt: skip
        converged = await wait_until_converged(stack, redis, rules, timeout=90)
        rows = await audit.read(redis, Keys(settings.redis_prefix).audit, count=100_000)
        _print_summary(stack, rows, time.monotonic() - started, converged)
    return 0 if converged else 1


async def wait_until_converged(stack: Stack, redis: Any, rules: Any, timeout: float) -> bool:
    """True once the queue is empty and every sandbox entry matches the rules' outcome."""
    keys = Keys(stack.settings.redis_prefix)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if await busy(redis, keys):
            continue
        if not any(plan(e, rules) for e in stack.sandbox.workspace.entries.values()):
            return True
    return False


def _print_summary(stack: Stack, rows: list[dict[str, str]], elapsed: float, ok: bool) -> None:
    types = {t["id"]: t["name"] for t in stack.sandbox.workspace.types_of_work.values()}
    changes = Counter((r["rule"], r["attribute"], f"{types.get(r['old'], r['old'])} -> "
                       f"{types.get(r['new'], r['new'])}") for r in rows
                      if r["outcome"] == "applied")  # fmt: skip
    print(f"\n{'rule':28} {'attribute':13} {'change':26} {'entries':>7}")
    for (rule, attribute, change), n in sorted(changes.items()):
        print(f"{rule:28} {attribute:13} {change:26} {n:7}")
    calls = Counter((c.method, c.template or c.path) for c in stack.sandbox.calls)
    webhooks = len(stack.sandbox.workspace.entries)
    print(f"\nawork calls: {sum(calls.values())} for {webhooks} webhook events "
          f"({sum(calls.values()) / max(webhooks, 1):.3f} calls per event)")  # fmt: skip
    for (method, template), n in sorted(calls.items()):
        print(f"  {method:5} {template:40} {n}")
    state = "converged: every entry matches the rules" if ok else "NOT converged"
    print(f"\n{state}; {sum(changes.values())} changes in {elapsed:.1f}s")


async def run_services() -> None:
    """`make run`: web app on :8000 and a worker (+ the sandbox unless AWORK_API_URL is set)."""
    overrides: dict[str, Any] = {}
    if "AWORK_API_URL" not in os.environ:
        overrides["awork_api_token"] = SANDBOX_TOKEN
        overrides["webhook_token"] = os.environ.get("WEBHOOK_TOKEN", "dev-token")
        if "RULES_FILE" not in os.environ and not Path("rules.yaml").exists():  # noqa: ASYNC240
            overrides["rules_file"] = str(DEMO_RULES)
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    print(ensure(settings.redis_url))
    web_port = int(os.environ.get("PORT", "8000"))
    if "AWORK_API_URL" in os.environ:
        async with (
            running(create_app(settings), port=web_port) as web_url,
            worker_running(settings),
        ):
            print(f"web app at {web_url}, worker running; Ctrl-C stops")
            await asyncio.Event().wait()
    async with local_stack(settings, ports=(8081, web_port)) as stack:
        print(
            f"sandbox at {stack.sandbox_url} (token {SANDBOX_TOKEN!r}), web app at "
            f"{stack.web_url} (webhook token {settings.webhook_tokens()[0]!r}); Ctrl-C stops"
        )
        await asyncio.Event().wait()
