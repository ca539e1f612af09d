"""A worker that starts while Redis is not there yet and awork answers 429 and 5xx stays up —
heartbeat fresh, "starting" — and serves as soon as both are back: no crash loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from service.contract import Keys
from service.contract.redis import connect
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.faults.harness import (
    Clock,
    Figures,
    RedisServer,
    Sender,
    converge,
    errors_answered,
    lost,
    updates,
    wait_for,
)
from tests.support.config import make_settings
from tests.support.pipeline import resolved_rules
from tests.support.processes import BIN, settings_env, web_process, worker_process

pytestmark = pytest.mark.faults


def healthcheck(env: dict[str, str], *flags: str) -> int:
    """`awork-billing healthcheck` as Kubernetes' probes run it; its exit code."""
    args = [str(BIN), "healthcheck", "--max-age", "10", *flags]
    return subprocess.run(args, env=env, capture_output=True, check=False).returncode


async def test_a_worker_waits_for_redis_and_awork_at_start_up(
    tmp_path: Path, rules_file: Path, report: Callable[[Figures], None]
) -> None:
    server = RedisServer(tmp_path / "redis", "--appendonly", "yes")  # not started yet
    faults = Faults(force_429=5, reset_seconds=1)
    ws = seed_workspace(entries=200, seed=31)
    sandbox_app = create_sandbox(ws, faults=faults)
    prefix = "startup"
    beat = tmp_path / "worker.alive"
    try:
        async with running(sandbox_app) as url:
            settings = make_settings(
                prefix,
                rules_file,
                redis_url=server.url,
                awork_api_url=url,
                reconcile_interval_seconds=0,
                worker_heartbeat_file=str(beat),
            )
            env = settings_env(settings)
            async with worker_process(settings) as worker:
                clock = Clock()
                await asyncio.sleep(4)  # arq tries Redis every 2 s; nothing answers
                assert worker.poll() is None, "the worker exited while Redis was away"
                assert healthcheck(env) == 0  # alive: Kubernetes leaves it be
                assert healthcheck(env, "--ready") == 1  # but not ready
                await server.start()
                faults.update({"error_rate": 1.0})  # then awork fails every call for a while
                await asyncio.sleep(3)
                faults.update({"error_rate": 0.0})
                async with connect(server.url) as redis:
                    await wait_for(lambda: redis.exists(Keys(prefix).me), 60, "the worker ready")
                    await wait_for(lambda: healthcheck(env, "--ready") == 0, 20, "ready probe")
                    assert worker.poll() is None
                    rules = resolved_rules(settings.rules_file, sandbox_app.state.sandbox)
                    async with web_process(settings) as web_url:
                        sender = Sender(web_url, concurrency=8, pause=0)
                        await sender.send(updates(ws))
                        await converge(redis, prefix, sandbox_app.state.sandbox, rules)
                missing = lost(sandbox_app.state.sandbox, rules, sender.accepted_ids)
    finally:
        server.stop()
    report(
        Figures(
            "start-up: Redis not there for 4 s, then awork 429 ×5 and 3 s of 5xx",
            len(ws.entries),
            sender.accepted,
            missing,
            0,
            errors_answered(sandbox_app.state.sandbox),
            0,
            clock(),
            "worker alive throughout (heartbeat fresh, not ready), no restart",
        )
    )
    assert missing == 0
    assert os.path.exists(beat)
