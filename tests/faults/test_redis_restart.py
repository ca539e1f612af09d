"""Redis restarting in the middle of a burst loses no accepted event (AOF on), and a Redis that
could lose events is reported at start-up.

A `redis-server` of the test's own (AOF) serves a real `awork-billing serve` and `worker`; webhooks
arrive like awork sends them (a 503 or no answer is retried). Mid-burst the server is stopped —
gracefully (SIGTERM, as Kubernetes restarts a pod, with `appendfsync everysec` as deployed) or by
a crash (SIGKILL, with `appendfsync always`) — and started again on the same data. Every event
answered 2xx must reach the rules' outcome.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from service.app import create_app
from service.contract import Keys
from service.contract.redis import connect, persistence_warnings
from service.sandbox import create_sandbox, running, seed_workspace
from tests.faults.harness import (
    Clock,
    Figures,
    RedisServer,
    Sender,
    converge,
    duplicate_writes,
    errors_answered,
    lost,
    updates,
    wait_for,
)
from tests.support.config import make_settings
from tests.support.pipeline import resolved_rules
from tests.support.processes import web_process, worker_process
from workers.cli.stack import worker_running

pytestmark = pytest.mark.faults


@pytest.mark.parametrize(
    ("how", "fsync", "sig"),
    [("graceful", "everysec", signal.SIGTERM), ("crash", "always", signal.SIGKILL)],
)
async def test_a_redis_restart_mid_burst_loses_no_accepted_event(
    tmp_path: Path,
    rules_file: Path,
    report: Callable[[Figures], None],
    how: str,
    fsync: str,
    sig: int,
) -> None:
    server = RedisServer(tmp_path, "--appendonly", "yes", "--appendfsync", fsync)
    await server.start()
    ws = seed_workspace(entries=800, seed=23)
    sandbox_app = create_sandbox(ws)
    sandbox = sandbox_app.state.sandbox
    prefix = "faults"
    keys = Keys(prefix)
    restarts = 0
    try:
        async with running(sandbox_app) as url, connect(server.url) as redis:
            settings = make_settings(
                prefix,
                rules_file,
                redis_url=server.url,
                awork_api_url=url,
                reconcile_interval_seconds=0,
                flush_timeout_seconds=5,
            )
            rules = resolved_rules(settings.rules_file, sandbox)
            async with web_process(settings) as web_url, worker_process(settings) as worker:
                await wait_for(lambda: redis.exists(keys.me), 30, "the worker to start")
                clock = Clock()
                sender = Sender(web_url, concurrency=8, pause=0.02)  # a burst over ~2 s
                sending = asyncio.create_task(sender.send(updates(ws)))
                await wait_for(lambda: sender.accepted > 250, 30, "part of the burst")
                server.stop(sig)
                accepted_before = sender.accepted
                await asyncio.sleep(3.0)  # Redis is away for 3 s: longer than the web app waits
                await server.start()
                await sending
                if worker.poll() is not None:  # redis-py gave up: Kubernetes would restart it
                    restarts += 1
                    async with worker_process(settings):
                        await converge(redis, prefix, sandbox, rules, timeout=60)
                else:
                    await converge(redis, prefix, sandbox, rules, timeout=60)
                duplicates = await duplicate_writes(redis, prefix)
        assert accepted_before < len(ws.entries) - 100, "the restart should land mid-burst"
    finally:
        server.stop()
    missing = lost(sandbox, rules, sender.accepted_ids)
    report(
        Figures(
            f"Redis restart mid-burst ({how}, appendfsync {fsync})",
            len(ws.entries),
            sender.accepted,
            missing,
            duplicates,
            errors_answered(sandbox),
            restarts,
            clock(),
            f"{sender.retries} deliveries retried by the sender (503 / no answer)",
        )
    )
    assert sender.accepted == len(ws.entries)
    assert missing == 0


async def test_a_redis_that_can_lose_events_is_reported_at_start_up(
    tmp_path: Path, prefix: str, rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    volatile = RedisServer(
        tmp_path / "a", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru"
    )
    safe = RedisServer(tmp_path / "b", "--appendonly", "yes", "--maxmemory-policy", "noeviction")
    await volatile.start()
    await safe.start()
    try:
        async with connect(volatile.url) as redis:
            warnings = await persistence_warnings(redis)
        assert len(warnings) == 2
        assert "no persistence" in warnings[0]
        assert "'allkeys-lru'" in warnings[1]
        async with connect(safe.url) as redis:
            assert await persistence_warnings(redis) == []
        sandbox_app = create_sandbox(seed_workspace(entries=5, seed=1))
        async with running(sandbox_app) as url:
            settings = make_settings(prefix, rules_file, redis_url=volatile.url, awork_api_url=url)
            with caplog.at_level(logging.WARNING):
                async with running(create_app(settings)):
                    web = _warned(caplog)
                caplog.clear()
                async with worker_running(settings):
                    worker = _warned(caplog)
        assert web == worker == warnings
    finally:
        volatile.stop()
        safe.stop()


def _warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Redis" in r.getMessage()]
