"""The whole service on one machine: the awork sandbox, the web app (uvicorn on loopback) and an
arq worker in one asyncio loop, talking to each other over real HTTP and a real Redis, exactly as
in production — for `make demo`, `make run`, `awork-billing sandbox` and the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from arq.worker import Worker

from service.contract.settings import Settings, load_settings
from service.contract.webhooks import WEBHOOK_PATH, subscription
from service.sandbox import Faults, Workspace, create_sandbox, running, seed_workspace
from service.web.app import create_app
from workers.apply.billing import Billing
from workers.cli.localredis import ensure
from workers.jobs import worker_options
from workers.telemetry import configure_logging

DEMO_RULES = Path(__file__).with_name("demo-rules.yaml")
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's fixed, public demo token


async def serve_sandbox(port: int, workspace: Workspace, seed: int = 0) -> None:
    """The sandbox alone, holding `workspace` (its random faults drawn from `seed`, as
    `python -m service.sandbox` draws them), until cancelled (Ctrl-C)."""
    app = create_sandbox(workspace, Faults(seed=seed))
    async with running(app, port=port) as url:
        print(f"awork sandbox at {url} (token {SANDBOX_TOKEN!r}); Ctrl-C stops it")
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def worker_running(settings: Settings) -> AsyncIterator[Worker]:
    """An arq worker for `settings` in this loop (no signal handlers), stopped on exit."""
    worker = Worker(**{**worker_options(settings), "handle_signals": False})
    task = asyncio.create_task(worker.async_run())
    try:
        while "billing" not in worker.ctx and not task.done():  # noqa: ASYNC110 - arq has no event
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


async def register_webhook(settings: Settings, token: str, target: str) -> str:
    """Create awork's webhook to `target` at `settings.awork_api_url` (`POST /webhooks`), exactly
    as `awork-billing webhook register` does: every event the receiver acts on, header auth
    with `WEBHOOK_TOKEN_HEADER`."""
    body = subscription(settings, target, name="awork-billing")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=settings.awork_api_url, headers=headers) as c:
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
    billing: Billing | None = None
    """The worker's, when it runs in this loop: its rules, its records (the demo's backfill)."""


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
            await register_webhook(settings, SANDBOX_TOKEN, f"{web_url}{WEBHOOK_PATH}")
            async with worker_running(settings) as worker:
                sandbox = sandbox_app.state.sandbox
                yield Stack(settings, sandbox_url, web_url, sandbox, worker.ctx["billing"])


async def run_services(web_port: int = 8000) -> None:
    """`make run`: web app on `web_port` (`--port`, `PORT`, 8000) and a worker (+ the sandbox
    on :8081 unless AWORK_API_URL is set)."""
    overrides: dict[str, Any] = {}
    if "AWORK_API_URL" not in os.environ:
        overrides["awork_api_token"] = SANDBOX_TOKEN
        overrides["webhook_token"] = os.environ.get("WEBHOOK_TOKEN", "dev-token")
        if "RULES_FILE" not in os.environ and not Path("rules.yaml").exists():  # noqa: ASYNC240
            overrides["rules_file"] = str(DEMO_RULES)
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    print(ensure(settings.redis_url))
    if "AWORK_API_URL" in os.environ:
        async with (
            running(create_app(settings), port=web_port) as web_url,
            worker_running(settings),
        ):
            print(f"web app at {web_url}, worker running; Ctrl-C stops")
            await asyncio.Event().wait()
    # the demo's agency: with the retainer client, so the budget examples have a budget to try
    workspace = seed_workspace(entries=300, retainer_client=True)
    async with local_stack(settings, workspace, ports=(8081, web_port)) as stack:
        print(
            f"sandbox at {stack.sandbox_url} (token {SANDBOX_TOKEN!r}), web app at "
            f"{stack.web_url} (webhook token {settings.webhook_tokens()[0]!r}); Ctrl-C stops"
        )
        await asyncio.Event().wait()
