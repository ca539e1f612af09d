"""Write fences: two writers deciding the same change from the same read write it once."""

from __future__ import annotations

import copy
from pathlib import Path

from redis.asyncio import Redis

from service.queue import Keys, PendingRecord
from service.sandbox import create_sandbox, running, seed_workspace
from tests.conftest import make_settings
from tests.support import pending_changes, resolved_rules
from workers import audit
from workers.apply import Batch, apply_changes
from workers.context import close_worker_app, create_worker_app


async def test_a_change_is_written_once_per_version(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    sandbox_app = create_sandbox(seed_workspace(entries=60, seed=3))
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        app = await create_worker_app(make_settings(prefix, rules_file, awork_api_url=url), redis)
        try:
            rules = resolved_rules(app.settings.rules_file, sandbox)
            changes = pending_changes(sandbox, rules)
            wanted = {c.entry_id for c in changes}
            billable_changes = [c for c in changes if c.attribute == "billable"]
            snapshot = [
                copy.deepcopy(e) for i, e in sandbox.workspace.entries.items() if i in wanted
            ]
            fresh = [(e, PendingRecord(event="test")) for e in snapshot]
            first, second = Batch(job_id="one"), Batch(job_id="two")
            await apply_changes(app, copy.deepcopy(fresh), first)
            writes = sandbox.count("POST")
            # a second writer that read the same versions (before the first wrote)
            await apply_changes(app, copy.deepcopy(fresh), second)
            assert sandbox.count("POST") == writes
            assert second.counts["already_written"] == first.counts["applied"]
            # a person changes an entry back: a newer version, so the rules apply again
            ws = sandbox.workspace
            person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
            entry_id = next(c.entry_id for c in billable_changes)
            ws.update_entry(entry_id, {"isBillable": not ws.entries[entry_id]["isBillable"]},
                            by=person)  # fmt: skip
            third = Batch(job_id="three")
            await apply_changes(
                app, [(copy.deepcopy(ws.entries[entry_id]), PendingRecord())], third
            )
            assert third.counts == {"changed": 1, "applied": 1}
        finally:
            await close_worker_app(app)
    rows = await audit.read(redis, Keys(prefix).audit, count=10_000)
    applied = [(r["entry"], r["attribute"]) for r in rows if r["outcome"] == "applied"]
    assert len(applied) == len(set(applied)) + 1  # the entry the person changed back
