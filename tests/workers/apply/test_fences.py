"""Write fences: two writers deciding the same change from the same read write it once."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from service.contract import PendingRecord
from service.sandbox import create_sandbox, running, seed_workspace
from tests.support.config import make_settings
from tests.support.pipeline import pending_changes, resolved_rules
from tests.support.records import audit_rows
from tests.support.worker import billing_for
from workers.apply import Batch, Pending


async def test_a_change_is_written_once_per_version(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    sandbox_app = create_sandbox(seed_workspace(entries=60, seed=3))
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with billing_for(settings, redis) as billing:
            rules = resolved_rules(settings.rules_file, sandbox)
            changes = pending_changes(sandbox, rules)
            wanted = {c.entry_id for c in changes}
            billable_changes = [c for c in changes if c.attribute == "billable"]
            snapshot = [
                copy.deepcopy(e) for i, e in sandbox.workspace.entries.items() if i in wanted
            ]
            first, second = Batch(job_id="one"), Batch(job_id="two")
            await billing.apply(_pending(snapshot), first)
            writes = sandbox.count("POST")
            # a second writer that read the same versions (before the first wrote)
            await billing.apply(_pending(snapshot), second)
            assert sandbox.count("POST") == writes
            assert second.counts["already_written"] == first.counts["applied"]
            # a person changes an entry back: a newer version, so the rules apply again
            ws = sandbox.workspace
            person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
            entry_id = next(c.entry_id for c in billable_changes)
            flipped = {"isBillable": not ws.entries[entry_id]["isBillable"]}
            ws.update_entry(entry_id, flipped, by=person)
            third = Batch(job_id="three")
            await billing.apply(_pending([ws.entries[entry_id]]), third)
            assert third.counts == {"changed": 1, "applied": 1}
    rows = await audit_rows(redis, prefix, count=10_000)
    applied = [(r["entry"], r["attribute"]) for r in rows if r["outcome"] == "applied"]
    assert len(applied) == len(set(applied)) + 1  # the entry the person changed back


def _pending(entries: list[dict[str, Any]]) -> list[Pending]:
    """Copies: each writer works on its own read."""
    return [Pending(copy.deepcopy(e), PendingRecord(event="test")) for e in entries]


async def test_two_writers_at_the_same_moment_write_a_change_once(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """Two workers (two process contexts) decide the same changes from the same read and write
    at once: the fence is claimed atomically, so each change is written by one of them."""
    sandbox_app = create_sandbox(seed_workspace(entries=60, seed=3))
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with billing_for(settings, redis) as one, billing_for(settings, redis) as two:
            rules = resolved_rules(settings.rules_file, sandbox)
            wanted = {c.entry_id for c in pending_changes(sandbox, rules)}
            snapshot = [
                copy.deepcopy(e) for i, e in sandbox.workspace.entries.items() if i in wanted
            ]
            first, second = Batch(job_id="one"), Batch(job_id="two")
            await asyncio.gather(
                one.apply(_pending(snapshot), first), two.apply(_pending(snapshot), second)
            )
    applied = first.counts.get("applied", 0) + second.counts.get("applied", 0)
    skipped = first.counts.get("already_written", 0) + second.counts.get("already_written", 0)
    rows = await audit_rows(redis, prefix, count=10_000)
    written = [(r["entry"], r["attribute"]) for r in rows if r["outcome"] == "applied"]
    assert len(written) == len(set(written)) == applied
    assert skipped == applied  # each change was decided twice and written once
