"""The reconciliation sweep (`workers.jobs.reconcile`) against the sandbox, with a real Redis.

People change entries in the sandbox directly (no webhook is sent at all); the job alone must
find them through `updatedOn` and bring them to the rules' outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from arq import Retry
from redis.asyncio import Redis

from service.contract import IngestItem, PendingRecord
from service.sandbox import Faults, SandboxState, Workspace, create_sandbox, running, seed_workspace
from service.sandbox.clock import iso7
from tests.support.config import make_settings
from tests.support.pipeline import resolved_rules
from tests.support.worker import billing_for, job_ctx
from workers.apply import Billing
from workers.awork import filterby
from workers.cli.stack import worker_running
from workers.jobs import reconcile as reconcile_module
from workers.jobs.reconcile import OVERLAP, reconcile
from workers.rules import RuleSet, plan


@dataclass
class World:
    sandbox: SandboxState
    billing: Billing
    rules: RuleSet

    @property
    def checkpoint_key(self) -> str:
        return self.billing.process.keys.reconcile_checkpoint

    @property
    def ws(self) -> Workspace:
        return self.sandbox.workspace

    def wrong(self, ids: list[str] | None = None) -> set[str]:
        """Entries the rules would still change."""
        entries = self.ws.entries
        return {
            i for i in (ids if ids is not None else list(entries)) if plan(entries[i], self.rules)
        }

    def reads(self) -> list[dict[str, list[str]]]:
        return [
            parse_qs(c.query)
            for c in self.sandbox.calls
            if c.method == "GET" and c.template == "/timeentries"
        ]

    def writes(self) -> int:
        return sum(1 for c in self.sandbox.calls if c.method == "POST")


@contextlib.asynccontextmanager
async def world(
    prefix: str, rules_file: Path, redis: Redis, entries: int = 300, **overrides: Any
) -> AsyncIterator[World]:
    """A sandbox whose entries were all last changed two days ago, and a worker app for it."""
    ws = seed_workspace(entries=entries, seed=4)
    two_days_ago = iso7(datetime.now(UTC) - timedelta(hours=48))
    for entry in ws.entries.values():
        entry["updatedOn"] = two_days_ago
    sandbox_app = create_sandbox(ws, faults=Faults(echo_webhooks=False))
    async with running(sandbox_app) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url, **overrides)
        sandbox: SandboxState = sandbox_app.state.sandbox
        async with billing_for(settings, redis) as billing:
            yield World(sandbox, billing, resolved_rules(settings.rules_file, sandbox))


def people_change(w: World, count: int, by: dict[str, Any] | None = None) -> list[str]:
    """Someone flips `isBillable` on `count` entries the rules keep right; their ids."""
    person = by or w.ws.person(next(u for u in w.ws.users if u != w.ws.api_user["id"]))
    chosen: list[str] = []
    for entry_id, entry in w.ws.entries.items():
        if len(chosen) == count:
            break
        if plan(entry, w.rules) or not entry.get("project") or entry.get("isBilled"):
            continue
        w.ws.update_entry(entry_id, {"isBillable": not entry["isBillable"]}, by=person)
        if plan(entry, w.rules):
            chosen.append(entry_id)
    assert len(chosen) == count
    return chosen


async def run(w: World, n: int = 1) -> dict[str, int]:
    job_id = w.billing.process.keys.job_id("reconcile", str(n))
    return await reconcile(job_ctx(w.billing, job_id, job_try=1))


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # 3.11 reads awork's 7 fractional digits
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def checkpoint(w: World, redis: Redis) -> datetime:
    raw = await redis.get(w.checkpoint_key)
    assert raw is not None
    return datetime.fromisoformat(raw.decode())


async def test_first_run_looks_back_and_fixes_what_people_changed(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with world(prefix, rules_file, redis) as w:
        old_wrong = w.wrong()
        assert old_wrong, "the seed should need changes"
        changed = people_change(w, 25)
        counts = await run(w)
        assert w.wrong(changed) == set()
        # entries last changed before RECONCILE_LOOKBACK_HOURS (24) are not read
        assert w.wrong() == old_wrong
        assert counts["read"] == 25
        assert counts["changed"] == 25
        (query,) = w.reads()
        assert query["filterby"][0].startswith("updatedOn ge datetime'")
        assert query["pageSize"] == ["1000"]
        assert query["orderby"] == ["updatedOn asc"]


async def test_entries_waiting_for_a_flush_are_left_to_it(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """A webhook already queued them: reconciling them too would write every change twice."""
    async with world(prefix, rules_file, redis) as w:
        changed = people_change(w, 6)
        queued, claimed = changed[:2], changed[2:4]
        queue, keys = w.billing.process.queue, w.billing.process.keys
        await queue.add([IngestItem(i, PendingRecord()) for i in queued + claimed])
        await redis.rename(keys.pending, keys.claimed("job-x"))
        await redis.sadd(keys.claims, keys.claimed("job-x"))  # type: ignore[misc]
        await queue.add([IngestItem(i, PendingRecord()) for i in queued])
        counts = await run(w)
        assert counts["queued"] == 4
        assert w.wrong(changed) == set(queued + claimed)
        # should their flush fail, the next run must read them again: the checkpoint waits
        oldest = min(_instant(w.ws.entries[i]["updatedOn"]) for i in queued + claimed)
        assert await checkpoint(w, redis) <= oldest


async def test_checkpoint_advances_with_an_overlap_and_reads_only_newer_changes(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with world(prefix, rules_file, redis) as w:
        changed = people_change(w, 10)
        newest = max(datetime.fromisoformat(w.ws.entries[i]["updatedOn"]) for i in changed)
        await run(w, 1)
        saved = await checkpoint(w, redis)
        # the newest change read, less the overlap (a later-committed older timestamp is re-read)
        assert saved == newest - OVERLAP
        w.sandbox.reset_calls()
        again = await run(w, 2)  # within the overlap: read again, nothing to write
        assert again["read"] >= 10
        assert w.writes() == 0
        later = people_change(w, 5)
        start = await checkpoint(w, redis)
        await run(w, 3)
        assert w.wrong(changed + later) == set()
        assert w.reads()[-1]["filterby"] == [f"updatedOn ge {filterby.moment(start)}"]


async def test_a_backlog_is_read_in_pages_bounded_per_run_and_finished_next_run(
    prefix: str, rules_file: Path, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,300 changed entries, at most 2 pages a run. Fixing entries moves them to the end of
    the `updatedOn` order; reading keyset-style still finds every one."""
    monkeypatch.setattr(reconcile_module, "MAX_PAGES", 2)
    async with world(prefix, rules_file, redis, entries=2300) as w:
        person = w.ws.person(next(u for u in w.ws.users if u != w.ws.api_user["id"]))
        for entry_id in w.ws.entries:
            w.ws.touch_entry(entry_id, by=person)  # a project change fanning out
        wanted = w.wrong()
        assert len(wanted) > 300
        first = await run(w, 1)
        assert first["pages"] == 2
        assert first["backlog_left"] == 1
        assert 0 < len(w.wrong()) < len(wanted)
        mid = await checkpoint(w, redis)
        second = await run(w, 2)
        assert "backlog_left" not in second
        assert w.wrong() == set()
        assert await checkpoint(w, redis) >= mid
        assert all(q["page"] == ["1"] for q in w.reads())


async def test_entries_last_changed_by_the_service_itself_are_reconciled_and_counted(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with world(prefix, rules_file, redis) as w:
        ours = people_change(w, 6, by=w.ws.person(w.ws.api_user["id"]))
        counts = await run(w)
        assert w.wrong(ours) == set()
        assert counts["by_service"] >= 6


async def test_awork_failing_retries_later_and_keeps_the_checkpoint(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with world(prefix, rules_file, redis) as w:
        changed = people_change(w, 8)
        w.sandbox.faults.update({"error_rate": 1.0})
        with pytest.raises(Retry):
            await run(w, 1)
        assert await redis.get(w.checkpoint_key) is None
        w.sandbox.faults.update({"error_rate": 0.0})
        await run(w, 1)  # arq's next try, same job id: the lock was released
        assert w.wrong(changed) == set()


async def test_only_one_run_at_a_time(prefix: str, rules_file: Path, redis: Redis) -> None:
    async with world(prefix, rules_file, redis) as w:
        await redis.set(f"{prefix}:reconcile:lock", "someone-else", ex=30)
        assert await run(w) == {"skipped": 1}
        assert w.reads() == []


async def test_the_worker_starts_the_sweep_every_interval(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    async with world(prefix, rules_file, redis, reconcile_interval_seconds=1) as w:
        changed = people_change(w, 5)
        async with worker_running(w.billing.process.settings):
            for _ in range(300):  # the fixes are written, then the checkpoint is saved
                if not w.wrong(changed) and await redis.exists(w.checkpoint_key):
                    break
                await asyncio.sleep(0.1)
        assert w.wrong(changed) == set()
        assert await redis.get(w.checkpoint_key) is not None
