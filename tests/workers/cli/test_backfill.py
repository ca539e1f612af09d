"""`awork-billing backfill`: past entries brought in line with the rules — in bulk, audited,
dry-run-able, and resumable after an interruption (a checkpoint in Redis per set of arguments)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from redis.asyncio import Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from service.sandbox import SandboxState, create_sandbox, running, seed_workspace
from tests.support.cli import Outcome, cli, use_env
from tests.support.pipeline import resolved_rules
from tests.support.records import audit_rows, dead_letters
from workers.cli.backfill import Plan
from workers.cli.period import Period
from workers.rules import Change, plan

WHOLE_YEAR = ["--from", "2026-01-01", "--to", "2026-12-31"]


class OnRead:
    """The sandbox, running `action` just before it answers its `at`-th `GET /timeentries`."""

    def __init__(self, app: ASGIApp, at: int, action: Callable[[], None]) -> None:
        self.app, self.at, self.action, self.reads = app, at, action, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/timeentries":
            self.reads += 1
            if self.reads == self.at:
                self.action()
        await self.app(scope, receive, send)


@dataclass
class Awork:
    url: str
    state: SandboxState
    rules_file: Path

    def wanted(self, keep: Callable[[dict[str, Any]], bool] = lambda e: True) -> list[Change]:
        rules = resolved_rules(str(self.rules_file), self.state)
        return [c for e in self.state.workspace.entries.values() if keep(e) for c in plan(e, rules)]

    def writes(self) -> int:
        return sum(1 for c in self.state.calls if c.method == "POST")

    def pages_read(self) -> list[str]:
        return [
            parse_qs(c.query)["page"][0] for c in self.state.calls if c.template == "/timeentries"
        ]


@pytest.fixture
async def awork(
    monkeypatch: pytest.MonkeyPatch, prefix: str, rules_file: Path
) -> AsyncIterator[Awork]:
    """A sandbox of 300 entries, all in 2026, and the environment pointing the CLI at it."""
    app = create_sandbox(seed_workspace(entries=300, seed=8))
    async with running(app) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url, USER="tester")
        yield Awork(url, app.state.sandbox, rules_file)


async def backfill(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    return await cli(capsys, "backfill", *argv)


async def test_backfill_applies_the_rules_in_bulk_and_audits(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    wanted = awork.wanted()
    groups = {(c.attribute, c.new) for c in wanted}
    outcome = await backfill(capsys, *WHOLE_YEAR, "--json")
    assert outcome.code == 0, outcome.err
    assert outcome.err == ""  # no progress bar off a terminal
    summary = outcome.json()
    assert awork.wanted() == []
    assert (summary["entries"], summary["pages"], summary["dry_run"]) == (300, 1, False)
    assert summary["outcomes"] == {"applied": len(wanted)}
    assert sum(summary["changes"].values()) == len(wanted)
    assert summary["changed_entries"] == len({c.entry_id for c in wanted})
    assert awork.writes() == len(groups)  # one bulk call per (attribute, value): coalesced
    assert summary["calls"]["timeentries"] == 1
    assert summary["awork_calls"] == len(awork.state.calls)
    rows = await audit_rows(redis, prefix, count=10_000)
    assert len(rows) == len(wanted)
    assert {r["outcome"] for r in rows} == {"applied"}
    assert {r["job"] for r in rows} == {f"backfill:{_digest(False)}:p1"}
    assert all(r["trigger"].startswith("backfill by tester (v") for r in rows)
    assert not [k async for k in redis.scan_iter(match=f"{prefix}:backfill:*")]


async def test_backfill_prints_a_summary(capsys: pytest.CaptureFixture[str], awork: Awork) -> None:
    wanted = awork.wanted()
    outcome = await backfill(capsys, *WHOLE_YEAR)
    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    assert lines[0].startswith("Backfill 2026-01-01..2026-12-31, all projects: 300 entries read")
    assert lines[2].split() == ["rule", "attribute", "changed"]
    assert f"Outcomes: applied {len(wanted)}" in lines
    assert "Dead-lettered: 0" in lines
    assert lines[-1].startswith("awork calls: ")


async def test_backfill_only_touches_its_period_and_project(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    entries = awork.state.workspace.entries
    late = sorted(
        c.entry_id
        for c in awork.wanted()
        if entries[c.entry_id]["startDateUtc"][:10] >= "2026-10-01"
    )
    project = next(str(entries[i]["projectId"]) for i in late if entries[i]["projectId"])

    def chosen(e: dict[str, Any]) -> bool:
        return e.get("projectId") == project and str(e["startDateUtc"][:10]) >= "2026-10-01"

    inside, outside = awork.wanted(chosen), awork.wanted(lambda e: not chosen(e))
    assert inside
    outcome = await backfill(
        capsys, "--from", "2026-10-01", "--to", "2026-12-31", "--project", project.upper(), "--json"
    )
    assert outcome.code == 0, outcome.err
    assert awork.wanted(chosen) == []
    assert awork.wanted(lambda e: not chosen(e)) == outside
    assert outcome.json()["project"] == project
    (read,) = [c for c in awork.state.calls if c.template == "/timeentries"]
    assert f"and projectId eq guid'{project}'" in parse_qs(read.query)["filterby"][0]


@pytest.mark.parametrize("how", ["--dry-run", "DRY_RUN=true"])
async def test_dry_run_writes_nothing_and_audits_would_be_changes(
    capsys: pytest.CaptureFixture[str],
    awork: Awork,
    redis: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    wanted = awork.wanted()
    if how == "DRY_RUN=true":
        monkeypatch.setenv("DRY_RUN", "true")
    argv = [*WHOLE_YEAR, "--json", *([how] if how.startswith("--") else [])]
    outcome = await backfill(capsys, *argv)
    assert outcome.code == 0, outcome.err
    assert awork.writes() == 0
    assert awork.wanted() == wanted
    summary = outcome.json()
    assert (summary["dry_run"], summary["outcomes"]) == (True, {"dry_run": len(wanted)})
    rows = await audit_rows(redis, prefix, count=10_000)
    assert len(rows) == len(wanted)
    assert {r["outcome"] for r in rows} == {"dry_run"}


async def test_an_interrupted_backfill_continues_where_it_stopped(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
    redis: Redis,
) -> None:
    sandbox = create_sandbox(seed_workspace(entries=300, seed=8))
    state: SandboxState = sandbox.state.sandbox

    def break_awork() -> None:
        state.faults.error_rate = 1.0

    async with running(OnRead(sandbox, at=3, action=break_awork)) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url)
        awork = Awork(url, state, rules_file)
        wanted = awork.wanted()
        argv = [*WHOLE_YEAR, "--page-size", "100", "--json"]
        broken = await backfill(capsys, *argv)
        assert broken.code == 1
        assert "awork answered 50" in broken.error
        assert broken.error.endswith(
            "progress saved after page 2; run the same command again to continue (or add --restart)"
        )
        key = Plan(Period(date(2026, 1, 1), date(2026, 12, 31)), False, 100).checkpoint_key(prefix)
        saved = json.loads(await redis.get(key) or "{}")
        assert (saved["page"], saved["totals"]["entries"]) == (2, 200)
        left = awork.wanted()
        assert left, "page 3 should still need changes"
        state.faults.error_rate = 0.0
        state.reset_calls()
        resumed = await backfill(capsys, *argv)
    assert resumed.code == 0, resumed.err
    assert awork.pages_read() == ["3"]
    assert awork.wanted() == []
    summary = resumed.json()
    assert (summary["resumed_after_page"], summary["entries"], summary["pages"]) == (2, 300, 3)
    assert summary["outcomes"] == {"applied": len(wanted)}  # both legs, counted once
    assert sum(summary["changes"].values()) == len(wanted)
    assert len(left) < len(wanted)
    assert await redis.get(key) is None


async def test_ctrl_c_finishes_the_page_in_hand_then_stops(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    """A write cut off in flight may be made by awork yet never audited: the first Ctrl-C lets
    the page finish, so every change made is in the audit log and the summary."""
    wanted = awork.wanted()
    awork.state.faults.update({"slow_rate": 1.0, "slow_seconds": 0.3})
    argv = [*WHOLE_YEAR, "--page-size", "100"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.cli",
        "backfill",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[3],
    )
    key = Plan(Period(date(2026, 1, 1), date(2026, 12, 31)), False, 100).checkpoint_key(prefix)
    for _ in range(300):
        if await redis.exists(key):
            break
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = await process.communicate()
    assert process.returncode == 130
    page = json.loads(await redis.get(key) or "{}")["page"]
    assert page in (1, 2)
    assert err.decode().splitlines() == [
        f"awork-billing: stopped (Ctrl-C); progress saved after page {page}; run the same "
        "command again to continue (or add --restart)"
    ]
    awork.state.faults.update({"slow_rate": 0.0})
    resumed = await backfill(capsys, *argv, "--json")
    assert resumed.code == 0, resumed.err
    assert resumed.json()["outcomes"] == {"applied": len(wanted)}
    rows = await audit_rows(redis, prefix, count=10_000)
    assert len(rows) == len(wanted)
    assert awork.wanted() == []


async def test_restart_ignores_the_checkpoint(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    key = Plan(Period(date(2026, 1, 1), date(2026, 12, 31)), False).checkpoint_key(prefix)
    await redis.set(key, json.dumps({"page": 7, "totals": {"entries": 7000, "pages": 7}}))
    resumed = await backfill(capsys, *WHOLE_YEAR, "--json")
    assert resumed.code == 0, resumed.err
    assert awork.pages_read() == ["8"]
    assert (resumed.json()["entries"], resumed.json()["resumed_after_page"]) == (7000, 7)
    assert awork.wanted(), "pages 1-7 were skipped as done"
    await redis.set(key, json.dumps({"page": 7, "totals": {"entries": 7000, "pages": 7}}))
    awork.state.reset_calls()
    restarted = await backfill(capsys, *WHOLE_YEAR, "--restart", "--json")
    assert restarted.code == 0, restarted.err
    assert awork.pages_read() == ["1"]
    assert (restarted.json()["entries"], restarted.json()["resumed_after_page"]) == (300, 0)
    assert awork.wanted() == []


async def test_checkpoints_are_per_arguments(prefix: str) -> None:
    october = Period(date(2026, 10, 1), date(2026, 10, 31))
    keys = {
        Plan(october, False).checkpoint_key(prefix),
        Plan(october, True).checkpoint_key(prefix),
        Plan(Period(october.start, october.end, "a" * 8), False).checkpoint_key(prefix),
        Plan(october, False, 500).checkpoint_key(prefix),
    }
    assert len(keys) == 4
    assert all(k.startswith(f"{prefix}:backfill:") and len(k.rsplit(":", 1)[1]) == 16 for k in keys)
    assert Plan(october, False).checkpoint_key(prefix) in keys


async def test_refused_changes_are_dead_lettered_and_counted(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    refused = sorted({c.entry_id for c in awork.wanted()})[:4]
    awork.state.workspace.unauthorized_ids.update(refused)
    outcome = await backfill(capsys, *WHOLE_YEAR, "--json")
    assert outcome.code == 0, outcome.err
    letters = await dead_letters(redis, prefix)
    assert {d["entry_id"] for d in letters} == set(refused)
    assert outcome.json()["dead_letters"] == {"unauthorized": len(letters)}
    assert {c.entry_id for c in awork.wanted()} == set(refused)


async def test_rate_limits_are_waited_out(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
) -> None:
    sandbox = create_sandbox(seed_workspace(entries=100, seed=8))
    state: SandboxState = sandbox.state.sandbox

    def limit() -> None:
        state.faults.force_429 = 2

    async with running(OnRead(sandbox, at=1, action=limit)) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url)
        outcome = await backfill(capsys, *WHOLE_YEAR, "--json")
        awork = Awork(url, state, rules_file)
        assert outcome.code == 0, outcome.err
        assert state.count("GET", "/timeentries", 429) == 2
        assert awork.wanted() == []


def _digest(dry_run: bool) -> str:
    return Plan(Period(date(2026, 1, 1), date(2026, 12, 31)), dry_run).digest
