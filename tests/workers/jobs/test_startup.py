"""A worker never exits because awork or Redis is unwell at start-up: it waits (each wait
logged), uses what an earlier start read while awork is away, and keeps its heartbeat fresh."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from service.contract import Keys, Queue
from service.contract.records import stored
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.support.config import make_settings
from tests.support.processes import free_port
from workers.awork.limiter import Limiter, Rates
from workers.cli.stack import worker_running
from workers.jobs import heartbeat


async def test_429s_at_start_up_are_waited_out(
    prefix: str, rules_file: Path, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    faults = Faults(force_429=4, reset_seconds=1)
    async with running(create_sandbox(seed_workspace(entries=5), faults=faults)) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        started = time.monotonic()
        async with worker_running(settings) as worker:
            assert worker.ctx["billing"].me
    assert faults.force_429 == 0
    assert time.monotonic() - started >= 1
    assert any("start-up: GET /me failed" in r.getMessage() for r in caplog.records)


async def test_5xx_at_start_up_are_waited_out(prefix: str, rules_file: Path, redis: Redis) -> None:
    """… and while it waits, its /metrics answers: a waiting worker is up, not missing."""
    faults = Faults(error_rate=1.0)
    port = free_port()
    async with running(create_sandbox(seed_workspace(entries=5), faults=faults)) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url, worker_metrics_port=port)
        waiting: list[str] = []

        async def recover() -> None:
            await asyncio.sleep(2.5)  # longer than the quick retries and the first back-offs
            async with httpx.AsyncClient() as client:
                waiting.append((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
            faults.update({"error_rate": 0.0})

        recovery = asyncio.create_task(recover())
        async with worker_running(settings) as worker:
            assert worker.ctx["billing"].rules.unresolved is None
        await recovery
    assert 'awork_billing_awork_calls_total{operation="me",status="500"}' in waiting[0]


async def test_a_paused_shared_limiter_is_waited_for(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """Another worker met a 429 and paused everyone for 3 s: no HTTP call, no exit."""
    async with running(create_sandbox(seed_workspace(entries=5))) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        await Limiter(redis, Keys(prefix), Rates(40, 900)).pause(3)
        started = time.monotonic()
        async with worker_running(settings):
            pass
    assert time.monotonic() - started >= 2.5


async def test_while_awork_is_away_what_an_earlier_start_read_is_used(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with running(create_sandbox(seed_workspace(entries=5))) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with worker_running(settings) as worker:
            me = worker.ctx["billing"].me
            types = [dict(r.then.values) for r in worker.ctx["billing"].rules.rules]
    away = settings.model_copy(update={"awork_api_url": f"http://127.0.0.1:{free_port()}"})
    async with worker_running(away) as worker:
        assert worker.ctx["billing"].me == me
        assert [dict(r.then.values) for r in worker.ctx["billing"].rules.rules] == types


async def test_the_api_user_is_kept_as_the_web_app_reads_it(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """The web app's ingest compares each webhook's author with this key, as text: the service's
    own echoes get no leading-edge flush (and a cache an earlier version wrote as JSON reads)."""
    keys = Keys(prefix)
    async with running(create_sandbox(seed_workspace(entries=5))) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with worker_running(settings) as worker:
            me = worker.ctx["billing"].me
    assert await redis.get(keys.me) == me.encode()
    queue = Queue(redis, keys, dedup_ttl=60, window_seconds=2, grace_seconds=0.03)
    entry = "00000000-0000-4000-8000-000000000001"
    echo = (f"echo-{entry}", entry, me, stored(5, "timetracking_updated", [me], [], 1))
    assert await queue.add_rows([echo], leading=True) == [True]
    assert not await redis.exists(keys.coalescing)  # no leading edge, no marker
    await redis.set(keys.me, orjson.dumps(me))
    away = settings.model_copy(update={"awork_api_url": f"http://127.0.0.1:{free_port()}"})
    async with worker_running(away) as worker:
        assert worker.ctx["billing"].me == me


async def test_a_wrong_token_stops_the_worker(prefix: str, rules_file: Path) -> None:
    """A refusal is not a wait: an operator must fix the token."""
    async with running(create_sandbox(seed_workspace(entries=5))) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url, awork_api_token="wrong")
        with pytest.raises(Exception, match="401"):
            async with worker_running(settings):
                pass


async def test_the_heartbeat_is_per_user_ready_after_start_up_and_an_error_when_unwritable(
    prefix: str, rules_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    default = make_settings(prefix, rules_file).heartbeat_path()
    assert default == tmp_path / "run" / "awork-billing" / "worker.alive"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert f"user-{os.getuid()}" in str(make_settings(prefix, rules_file).heartbeat_path())
    path = tmp_path / "hb" / "worker.alive"
    async with running(create_sandbox(seed_workspace(entries=5))) as url:
        settings = make_settings(
            prefix, rules_file, awork_api_url=url, worker_heartbeat_file=str(path)
        )
        async with worker_running(settings):
            age, state = heartbeat.read(path)
            assert (age < 5, state) == (True, heartbeat.READY)
        blocked = tmp_path / "file"
        blocked.write_text("")
        unwritable = settings.model_copy(
            update={"worker_heartbeat_file": str(blocked / "worker.alive")}
        )
        with pytest.raises(heartbeat.HeartbeatError, match="WORKER_HEARTBEAT_FILE"):
            async with worker_running(unwritable):
                pass
