"""Retries that end: transient awork failures are retried with back-off, then dead-lettered with
the last error; permanent refusals are dead-lettered at once; `awork-billing dead-letters` lists,
replays (to convergence once awork is well again) and purges them. Real Redis, a real arq worker,
the sandbox as awork.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Worker
from redis.asyncio import Redis

from service.contract import IngestItem, Keys, PendingRecord, Queue
from service.contract.settings import Settings
from service.sandbox import SandboxState, Workspace, create_sandbox, running, seed_workspace
from tests.support.config import REDIS_URL, make_settings
from tests.support.pipeline import pending_changes, quiet, resolved_rules
from tests.support.processes import free_port
from tests.support.records import audit_rows, dead_letters
from workers import cli
from workers.apply import DeadLetter, DeadLetters
from workers.awork.retry import QUICK_RETRIES
from workers.cli.stack import worker_running
from workers.rules import RuleSet, plan

PERSON = "0b9c8a41-1111-4d4b-9e7f-0d6a8c1b2a10"


@dataclass
class Stack:
    settings: Settings
    sandbox: SandboxState
    worker: Worker
    rules: RuleSet

    @property
    def ws(self) -> Workspace:
        return self.sandbox.workspace

    def wanted(self) -> list[str]:
        """Entries the rules still want to change."""
        return sorted(i for i, e in self.ws.entries.items() if plan(e, self.rules))

    def failed_calls(self) -> list[Any]:
        return [c for c in self.sandbox.calls if c.status >= 500]

    def metric(self, name: str, **labels: str) -> float:
        value: float = self.worker.ctx["process"].metrics.value(name, **labels)
        return value


@contextlib.asynccontextmanager
async def stack(
    prefix: str, rules_file: Path, *, entries: int = 60, port: int = 0, **overrides: Any
) -> AsyncIterator[Stack]:
    """Sandbox + an in-process worker; events are queued straight into Redis (the web app's
    part is tested elsewhere). No reconciliation: only the queue may fix entries here."""
    sandbox_app = create_sandbox(seed_workspace(entries=entries, seed=8))
    async with running(sandbox_app, port=port) as url:
        settings = make_settings(
            prefix, rules_file, awork_api_url=url, reconcile_interval_seconds=0, **overrides
        )
        sandbox: SandboxState = sandbox_app.state.sandbox
        async with worker_running(settings) as worker:
            sandbox.reset_calls()
            yield Stack(settings, sandbox, worker, resolved_rules(settings.rules_file, sandbox))


FIRST_SEEN = 1_764_500_000_000
"""When the queue first saw these events (a replay keeps it)."""


async def enqueue(redis: Redis, settings: Settings, ids: list[str], event: str = "x") -> None:
    """What the web app does for a webhook per entry (one Lua call: one flush job)."""
    queue = Queue(
        redis,
        Keys(settings.redis_prefix),
        dedup_ttl=60,
        window_seconds=settings.coalesce_window_seconds,
    )
    record = PendingRecord(event="timetracking_updated", by=[PERSON], first_seen_ms=FIRST_SEEN)
    await queue.add([IngestItem(i, record, dedup_key=f"{event}:{i}") for i in ids])


async def until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def letters(redis: Redis, prefix: str) -> list[dict[str, Any]]:
    return await dead_letters(redis, prefix)


async def test_5xx_is_retried_with_growing_back_off_until_awork_recovers(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with stack(prefix, rules_file) as s:
        wanted = s.wanted()
        assert wanted
        s.sandbox.faults.update({"error_rate": 1.0})
        await enqueue(redis, s.settings, wanted)
        tries = QUICK_RETRIES + 1  # calls per try of the job: quick retries in place
        await until(lambda: len(s.failed_calls()) >= 3 * tries)  # 3 tries of the job
        s.sandbox.faults.update({"error_rate": 0.0})
        await quiet(redis, prefix, s.sandbox)
        assert s.wanted() == []
        times = [c.time for c in s.failed_calls()][: 3 * tries]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # in place: ~0.2 s, then ~0.4 s; then the job is deferred ~0.5 s, then ~1 s (±20 %
        # jitter, plus arq's polling and a busy machine's slack)
        assert 0.15 < gaps[0] < 0.4
        assert 0.3 < gaps[1] < 0.7
        assert 0.38 < gaps[2] < 0.9
        assert 0.78 < gaps[5] < 1.6
        assert await letters(redis, prefix) == []
        assert s.metric("awork_billing_jobs_total", function="flush", outcome="retry") >= 3
        assert [k async for k in redis.scan_iter(match=f"{prefix}:attempts:*")] == []


async def test_exhausted_retries_are_dead_lettered_then_replayed_to_convergence(
    prefix: str,
    rules_file: Path,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Retries end by time (`AWORK_GIVE_UP_AFTER_SECONDS`), not by count."""
    async with stack(prefix, rules_file, awork_give_up_after_seconds=1.5) as s:
        wanted = s.wanted()
        s.sandbox.faults.update({"error_rate": 1.0})
        started = time.monotonic()
        await enqueue(redis, s.settings, wanted)
        await until(lambda: len(s.failed_calls()) >= 2 * (QUICK_RETRIES + 1))
        await quiet(redis, prefix, s.sandbox)  # the retries ended: nothing queued or claimed
        given_up = time.monotonic() - started
        failed = len(s.failed_calls())
        await asyncio.sleep(1.0)
        assert len(s.failed_calls()) == failed  # no try after giving up
        assert failed % (QUICK_RETRIES + 1) == 0  # whole tries, each with its quick retries
        assert 1.5 <= given_up < 10
        dead = await letters(redis, prefix)
        assert sorted(d["entry_id"] for d in dead) == wanted
        assert {d["reason"] for d in dead} == {"retries_exhausted"}
        assert {d["status"] for d in dead} <= {500, 503}
        assert all(re.fullmatch(r"[0-9a-f]{32}", str(d["trace_id"])) for d in dead)
        assert all("awork answered 50" in str(d["error"]) for d in dead)
        assert {d["first_seen_ms"] for d in dead} == {FIRST_SEEN}

        monkeypatch.setenv("REDIS_URL", REDIS_URL)
        monkeypatch.setenv("REDIS_PREFIX", prefix)
        monkeypatch.setenv("COALESCE_WINDOW_SECONDS", "0.2")
        capsys.readouterr()
        assert await asyncio.to_thread(cli.main, ["dead-letters", "list", "--json"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert sorted(d["entry_id"] for d in listed) == wanted
        assert {d["trace_id"] for d in listed} == {d["trace_id"] for d in dead}

        s.sandbox.faults.update({"error_rate": 0.0})  # awork is well again
        assert await asyncio.to_thread(cli.main, ["dead-letters", "replay", "--all"]) == 0
        assert f"replay: {len(wanted)} dead letters" in capsys.readouterr().out
        await quiet(redis, prefix, s.sandbox)
        assert s.wanted() == []
        assert await letters(redis, prefix) == []
        rows = await audit_rows(redis, prefix, count=10_000)
        assert {r["entry"] for r in rows if r["outcome"] == "applied"} == set(wanted)


async def test_purge_and_replay_by_id(
    prefix: str, rules_file: Path, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with stack(prefix, rules_file) as s:
        wanted = s.wanted()[:3]
        await DeadLetters(redis, Keys(prefix).dead).add(
            [DeadLetter(i, "unauthorized") for i in wanted]
        )
        entry_of = {str(d["id"]): str(d["entry_id"]) for d in await letters(redis, prefix)}
        purged, replayed, kept = list(entry_of)
        monkeypatch.setenv("REDIS_URL", REDIS_URL)
        monkeypatch.setenv("REDIS_PREFIX", prefix)
        assert await asyncio.to_thread(cli.main, ["dead-letters", "replay"]) == 2  # ids or --all
        assert await asyncio.to_thread(cli.main, ["dead-letters", "purge", purged]) == 0
        assert await asyncio.to_thread(cli.main, ["dead-letters", "replay", replayed]) == 0
        await quiet(redis, prefix, s.sandbox)
        assert [d["id"] for d in await letters(redis, prefix)] == [kept]
        assert set(s.wanted()) & set(wanted) == {entry_of[purged], entry_of[kept]}
        assert await asyncio.to_thread(cli.main, ["dead-letters", "purge", "--all"]) == 0
        assert await letters(redis, prefix) == []


@pytest.mark.parametrize(
    ("bulk_api", "arrange", "reason", "status"),
    [
        ("batch", "unauthorized_ids", "unauthorized", 0),
        ("batch", "bad_request_ids", "bad_request", 0),
        ("legacy", "unauthorized_ids", "rejected", 401),
        ("legacy", "bad_request_ids", "rejected", 400),
    ],
)
async def test_permanent_refusals_are_dead_lettered_at_once(
    prefix: str,
    rules_file: Path,
    redis: Redis,
    bulk_api: str,
    arrange: str,
    reason: str,
    status: int,
) -> None:
    async with stack(prefix, rules_file, awork_bulk_api=bulk_api) as s:
        wanted = s.wanted()
        refused = set(wanted[:2])
        getattr(s.ws, arrange).update(refused)
        await enqueue(redis, s.settings, wanted)
        await quiet(redis, prefix, s.sandbox)
        dead = await letters(redis, prefix)
        dead_ids = {d["entry_id"] for d in dead}
        if bulk_api == "batch":  # a 207 names the refused ids
            assert dead_ids == refused
        else:  # a legacy call is refused as a whole ("all ids or none")
            assert refused <= dead_ids
        assert {(d["reason"], d["status"]) for d in dead} == {(reason, status)}
        writes = [c for c in s.sandbox.calls if c.method == "POST"]
        assert writes
        assert all(c.status < 500 for c in writes)
        # each id went to each write endpoint once: a refusal is never retried
        sent = Counter(
            (c.path, i) for c in writes for i in c.json.get("ids", c.json.get("timeEntryIds", []))
        )
        assert set(sent.values()) == {1}
        left = {c.entry_id for c in pending_changes(s.sandbox, s.rules)}
        assert left <= dead_ids  # everything else was applied


async def test_timeouts_are_retried(prefix: str, rules_file: Path, redis: Redis) -> None:
    async with stack(prefix, rules_file, awork_timeout_seconds=0.3) as s:
        wanted = s.wanted()
        s.sandbox.faults.update({"slow_rate": 1.0, "slow_seconds": 0.6})
        await enqueue(redis, s.settings, wanted)
        await until(
            lambda: (
                s.metric(
                    "awork_billing_awork_calls_total", operation="timeentries", status="timeout"
                )
                >= 2
            )
        )
        s.sandbox.faults.update({"slow_rate": 0.0})
        await quiet(redis, prefix, s.sandbox)
        assert s.wanted() == []
        assert await letters(redis, prefix) == []


async def test_connection_errors_are_retried(prefix: str, rules_file: Path, redis: Redis) -> None:
    """awork unreachable for a while (its address refuses connections), then back."""
    port = free_port()
    sandbox_app = create_sandbox(seed_workspace(entries=60, seed=8))
    sandbox: SandboxState = sandbox_app.state.sandbox
    async with running(sandbox_app, port=port) as url:
        settings = make_settings(
            prefix, rules_file, awork_api_url=url, reconcile_interval_seconds=0
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        wanted = sorted(i for i, e in sandbox.workspace.entries.items() if plan(e, rules))
        worker_cm = worker_running(settings)
        worker = await worker_cm.__aenter__()
    try:
        await enqueue(redis, settings, wanted)  # awork is down now
        calls = "awork_billing_awork_calls_total"
        metrics = worker.ctx["process"].metrics
        await until(lambda: metrics.value(calls, operation="timeentries", status="error") >= 2)
        async with running(sandbox_app, port=port):
            await quiet(redis, prefix, sandbox)
            assert pending_changes(sandbox, rules) == []
    finally:
        await worker_cm.__aexit__(None, None, None)
    assert await letters(redis, prefix) == []


async def test_a_large_batch_under_20_percent_errors_is_applied_not_dead_lettered(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """One flush of 3,000 entries (three chunks, some 50 calls) while a fifth of awork's answers
    are 500/503. Every try gets further, so the batch must not end in dead letters."""
    async with stack(prefix, rules_file, entries=3000, awork_give_up_after_seconds=20) as s:
        s.sandbox.faults.update({"error_rate": 0.2, "seed": 7})
        await enqueue(redis, s.settings, list(s.ws.entries))
        await quiet(redis, prefix, s.sandbox, timeout=90)
        assert await letters(redis, prefix) == []
        assert s.wanted() == []
        assert len(s.failed_calls()) >= 5
