"""Bulk writes: a write awork answered is always audited, even when a sibling call fails."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.contract import PendingRecord
from service.sandbox import create_sandbox, running, seed_workspace
from tests.support.config import make_settings
from tests.support.pipeline import pending_changes, resolved_rules
from tests.support.records import audit_rows
from tests.support.worker import billing_for
from workers.apply import Batch, Pending
from workers.awork import AworkRateLimited


async def test_a_429_in_one_call_lets_the_calls_in_flight_finish_and_be_audited(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """Six bulk writes in flight; awork answers one with 429 and the others late (their change
    made first). Each change awork made is audited — none is lost to a cancelled call."""
    sandbox_app = create_sandbox(seed_workspace(entries=120, seed=5))
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url, awork_bulk_chunk_size=3)
        async with billing_for(settings, redis) as billing:
            rules = resolved_rules(settings.rules_file, sandbox)
            before = copy.deepcopy(sandbox.workspace.entries)
            wanted = {c.entry_id for c in pending_changes(sandbox, rules)}
            items = [Pending(copy.deepcopy(before[i]), PendingRecord()) for i in sorted(wanted)]
            sandbox.faults.update({"force_429": 1, "reset_seconds": 1})
            sandbox.faults.update({"slow_rate": 1.0, "slow_seconds": 0.3})
            with pytest.raises(AworkRateLimited):
                await billing.apply(items, Batch(job_id="w"))
    changed = {
        (i, attribute)
        for i, entry in sandbox.workspace.entries.items()
        for attribute, field in (("billable", "isBillable"), ("billed", "isBilled"))
        if entry.get(field) != before[i].get(field)
    }
    rows = await audit_rows(redis, prefix)
    audited = {(r["entry"], r["attribute"]) for r in rows if r["outcome"] == "applied"}
    assert changed, "some writes should have gone through"
    assert {c for c in audited if c[1] != "type_of_work"} == changed
