"""Webhook health (`workers.jobs.webhookhealth`): a webhook awork paused is noticed, exported as a
gauge, logged as an error and — when asked — re-enabled, against the sandbox's `/webhooks`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.sandbox import SandboxState, create_sandbox, envelope, running, seed_workspace
from service.sandbox.delivery import Hook
from tests.support.config import SANDBOX_TOKEN, WEBHOOK_TOKEN, make_settings
from tests.support.processes import free_port
from tests.support.worker import billing_for, job_ctx
from workers.apply import Billing
from workers.cli.stack import register_webhook, worker_running
from workers.jobs.webhookhealth import check_webhook

ACTIVE = "awork_billing_webhook_active"


@dataclass
class Setup:
    sandbox: SandboxState
    billing: Billing
    hook_id: str

    @property
    def metric(self) -> float:
        return self.billing.process.metrics.value(ACTIVE)

    @property
    def hook(self) -> Hook:
        """The webhook as the sandbox holds it now (a PUT replaces the object)."""
        return self.sandbox.hooks[self.hook_id]

    async def check(self) -> dict[str, int]:
        return await check_webhook(job_ctx(self.billing, "check", job_try=1))

    async def pause_by_failing(self) -> None:
        """Deliveries to a dead address fail until awork pauses the webhook (> 10 in a row)."""
        self.sandbox.delivery.retry_delay = 0.001
        entry = next(iter(self.sandbox.workspace.entries.values()))
        person = self.sandbox.workspace.api_user
        event = envelope("timetracking_updated", entry, triggered_by=person, changes=None)
        await self.sandbox.deliver([event])
        assert self.hook.config["isActive"] is False


@contextlib.asynccontextmanager
async def setup(
    prefix: str, rules_file: Path, redis: Redis, **overrides: Any
) -> AsyncIterator[Setup]:
    sandbox_app = create_sandbox(seed_workspace(entries=10, seed=3))
    sandbox: SandboxState = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        dead = f"http://127.0.0.1:{free_port()}/webhooks/awork"
        registering = make_settings(prefix, rules_file, awork_api_url=url)
        hook_id = await register_webhook(registering, SANDBOX_TOKEN, dead)
        settings = make_settings(
            prefix, rules_file, awork_api_url=url, awork_webhook_id=hook_id, **overrides
        )
        async with billing_for(settings, redis) as billing:
            yield Setup(sandbox, billing, hook_id)


async def test_an_active_webhook_is_exported_as_active(
    prefix: str, rules_file: Path, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with setup(prefix, rules_file, redis) as s:
        assert await s.check() == {"checked": 1, "active": 1}
        assert s.metric == 1
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_paused_webhook_is_an_error_with_awork_s_reason(
    prefix: str, rules_file: Path, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with setup(prefix, rules_file, redis) as s:
        await s.pause_by_failing()
        reason = s.hook.config["lastFailureReason"]
        assert reason
        assert await s.check() == {"checked": 1, "active": 0}
        assert s.metric == 0
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any(reason in message and s.hook.id in message for message in errors)
        assert s.hook.config["isActive"] is False, "not re-enabled unless asked"
        assert s.sandbox.count("PUT") == 0


async def test_auto_reenable_puts_the_same_configuration_back_active(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with setup(prefix, rules_file, redis, awork_webhook_auto_reenable=True) as s:
        before = dict(s.hook.config)
        headers = dict(s.hook.headers)
        await s.pause_by_failing()
        assert await s.check() == {"checked": 1, "active": 0, "reenabled": 1}
        assert s.hook.config["isActive"] is True
        assert s.hook.headers == headers == {"X-Webhook-Token": WEBHOOK_TOKEN}
        same = ("name", "uri", "events", "authenticationType", "authentication")
        assert {k: s.hook.config[k] for k in same} == {k: before[k] for k in same}
        assert s.metric == 1
        (put,) = [c for c in s.sandbox.calls if c.method == "PUT"]
        assert put.status == 200
        assert put.json["isActive"] is True


async def test_reenabling_without_the_header_value_uses_the_service_s_own_token(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """If awork does not return the header value, re-enabling must not strip it."""
    async with setup(prefix, rules_file, redis, awork_webhook_auto_reenable=True) as s:
        await s.pause_by_failing()
        s.hook.config["authentication"] = None
        await s.check()
        assert s.hook.config["isActive"] is True
        assert s.hook.headers == {"X-Webhook-Token": WEBHOOK_TOKEN}


async def test_reenabling_is_refused_when_the_header_value_is_unknown(
    prefix: str, rules_file: Path, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with setup(
        prefix, rules_file, redis, awork_webhook_auto_reenable=True, webhook_token=None
    ) as s:
        await s.pause_by_failing()
        s.hook.config["authentication"] = None
        assert (await s.check())["reenabled"] == 0
        assert s.hook.config["isActive"] is False
        assert s.sandbox.count("PUT") == 0
        assert any("header value is unknown" in r.getMessage() for r in caplog.records)


async def test_a_deleted_webhook_is_reported(
    prefix: str, rules_file: Path, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with setup(prefix, rules_file, redis) as s:
        del s.sandbox.hooks[s.hook_id]
        assert await s.check() == {"checked": 0}
        assert s.metric == 0
        assert any("does not exist" in r.getMessage() for r in caplog.records)


async def test_awork_failing_leaves_the_gauge_alone(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with setup(prefix, rules_file, redis) as s:
        await s.check()
        s.sandbox.faults.update({"error_rate": 1.0})
        assert await s.check() == {"checked": 0}
        assert s.metric == 1


async def test_the_worker_checks_the_webhook_on_its_own(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with setup(prefix, rules_file, redis, awork_webhook_auto_reenable=True) as s:
        await s.pause_by_failing()
        async with worker_running(s.billing.process.settings) as worker:
            metrics = worker.ctx["process"].metrics
            for _ in range(300):
                if metrics.value(ACTIVE) == 1:
                    break
                await asyncio.sleep(0.1)
            assert metrics.value(ACTIVE) == 1
        assert s.hook.config["isActive"] is True
