"""The whole pipeline end to end: webhooks -> web app -> Redis (arq) -> worker -> awork sandbox.

Everything is real but awork: the sandbox validates every request against awork's published
schemas and echoes the service's own writes back as webhooks, like awork does.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.contract import IngestItem, PendingRecord
from service.contract.settings import Settings
from service.sandbox import create_sandbox, envelope, running, seed_workspace
from tests.support.config import SANDBOX_TOKEN, make_settings
from tests.support.pipeline import pending_changes, post_events, quiet, resolved_rules
from tests.support.processes import web_process
from tests.support.records import audit_rows, dead_letters
from tests.support.worker import billing_for, job_ctx
from workers.cli.stack import Stack, local_stack, register_webhook, worker_running
from workers.jobs.flush import STALE_GIVE_UP_MS, flush

PERSON = {"id": "0b9c8a41-1111-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Pat", "lastName": "P"}


def updates(stack: Stack, ids: list[str] | None = None) -> list[dict[str, Any]]:
    entries = stack.sandbox.workspace.entries
    return [
        envelope("timetracking_updated", entries[i], triggered_by=PERSON, changes=None)
        for i in (ids or list(entries))
    ]


def write_calls(stack: Stack) -> int:
    return sum(1 for c in stack.sandbox.calls if c.method == "POST" and "timeentries" in c.path)


def read_calls(stack: Stack) -> int:
    return sum(1 for c in stack.sandbox.calls if c.method == "GET" and c.template == "/timeentries")


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with local_stack(settings, seed_workspace(entries=150, seed=5)) as running_stack:
        running_stack.sandbox.reset_calls()
        yield running_stack


async def converge(stack: Stack, redis: Redis, events: list[dict[str, Any]]) -> None:
    statuses = await post_events(stack.web_url, events)
    assert set(statuses) <= {202}
    await quiet(redis, stack.settings.redis_prefix, stack.sandbox)


async def test_burst_converges_to_the_rules_outcome(stack: Stack, redis: Redis) -> None:
    rules = resolved_rules(stack.settings.rules_file, stack.sandbox)
    assert pending_changes(stack.sandbox, rules), "the seed should need changes"
    await converge(stack, redis, updates(stack))
    assert pending_changes(stack.sandbox, rules) == []
    rows = await audit_rows(redis, stack.settings.redis_prefix, count=10_000)
    assert rows
    assert {r["outcome"] for r in rows} == {"applied"}
    assert {r["rule"] for r in rows} <= {r.name for r in rules.rules}
    # per 0.2 s window: one read per 150 entries, one write per (attribute, value) group (at
    # most 4 here) — the burst spans a few windows, and never costs a call per entry
    assert read_calls(stack) <= 5
    assert write_calls(stack) <= 16


async def test_own_writes_echo_back_without_a_loop(stack: Stack, redis: Redis) -> None:
    await converge(stack, redis, updates(stack))
    calls = len(stack.sandbox.calls)
    echoes = [d for d in stack.sandbox.deliveries if d.event_type == "timetracking_updated"]
    await quiet(redis, stack.settings.redis_prefix, stack.sandbox)
    assert echoes, "the sandbox should have echoed the writes"
    assert len(stack.sandbox.calls) == calls, "echoes of our own writes caused more calls"


async def test_duplicates_and_stale_redeliveries_change_nothing(stack: Stack, redis: Redis) -> None:
    rules = resolved_rules(stack.settings.rules_file, stack.sandbox)
    events = updates(stack)
    stale = [dict(e, entity=dict(e["entity"], resourceVersion=1)) for e in events[:20]]
    for e in stale:
        e["timestamp"] = e["timestamp"].replace("+00:00", "9+00:00")
    statuses = await post_events(stack.web_url, events + events[:30] + stale)
    assert statuses.count(202) == len(statuses)
    await quiet(redis, stack.settings.redis_prefix, stack.sandbox)
    assert pending_changes(stack.sandbox, rules) == []
    assert write_calls(stack) <= 16


async def test_people_changing_entries_again_get_the_rules_again(
    stack: Stack, redis: Redis
) -> None:
    rules = resolved_rules(stack.settings.rules_file, stack.sandbox)
    await converge(stack, redis, updates(stack))
    victim = next(
        e
        for e in stack.sandbox.workspace.entries.values()
        if e.get("project") and not e.get("isBilled") and e.get("duration")
    )
    victim["isBillable"] = not victim["isBillable"]
    victim["resourceVersion"] += 1
    assert pending_changes(stack.sandbox, rules)
    await converge(stack, redis, updates(stack, [victim["id"]]))
    assert pending_changes(stack.sandbox, rules) == []


@pytest.mark.parametrize("bulk_api", ["legacy", "batch"])
async def test_both_bulk_apis_converge(
    prefix: str, rules_file: Path, redis: Redis, bulk_api: str
) -> None:
    settings = make_settings(prefix, rules_file, awork_bulk_api=bulk_api)
    async with local_stack(settings, seed_workspace(entries=80, seed=9)) as stack:
        rules = resolved_rules(settings.rules_file, stack.sandbox)
        stack.sandbox.reset_calls()
        await converge(stack, redis, updates(stack))
        assert pending_changes(stack.sandbox, rules) == []
        templates = {c.template or "" for c in stack.sandbox.calls if c.method == "POST"}
    if bulk_api == "legacy":
        assert templates
        assert all("batch" not in t for t in templates if "timeentries" in t)
    else:
        assert {t for t in templates if "timeentries" in t} == {"/timeentries/batch/{operation}"}


async def test_dry_run_writes_nothing_and_audits_the_would_be_changes(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    settings = make_settings(prefix, rules_file, dry_run=True)
    async with local_stack(settings, seed_workspace(entries=60, seed=2)) as stack:
        rules = resolved_rules(settings.rules_file, stack.sandbox)
        wanted = len(pending_changes(stack.sandbox, rules))
        stack.sandbox.reset_calls()
        await converge(stack, redis, updates(stack))
        assert write_calls(stack) == 0
        assert len(pending_changes(stack.sandbox, rules)) == wanted
    rows = await audit_rows(redis, prefix, count=10_000)
    assert len(rows) == wanted
    assert {r["outcome"] for r in rows} == {"dry_run"}


async def test_refused_entries_are_dead_lettered_with_the_reason(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    settings = make_settings(prefix, rules_file)
    workspace = seed_workspace(entries=60, seed=2)
    async with local_stack(settings, workspace) as stack:
        rules = resolved_rules(settings.rules_file, stack.sandbox)
        wanted = {c.entry_id for c in pending_changes(stack.sandbox, rules)}
        refused = sorted(wanted)[:3]
        workspace.unauthorized_ids.update(refused)
        await converge(stack, redis, updates(stack))
        left = {c.entry_id for c in pending_changes(stack.sandbox, rules)}
    letters = await dead_letters(redis, prefix)
    assert left == set(refused)
    assert {d["entry_id"] for d in letters} == set(refused)
    assert {d["reason"] for d in letters} == {"unauthorized"}
    assert all(int(str(d["first_seen_ms"])) > 0 for d in letters)  # a replay keeps it


async def test_unknown_type_of_work_name_stops_the_worker(prefix: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: x\n    when: {}\n    then:\n"
        "      type_of_work: {name: Nonexistent}\n"
    )
    settings = make_settings(prefix, rules)
    with pytest.raises(Exception, match="Nonexistent"):
        async with local_stack(settings, seed_workspace(entries=5)):
            pass


async def test_five_thousand_events_cost_tens_of_calls(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """A project change fanning out into 5,000 webhooks: the web app runs in its own process
    (as in production) so the burst arrives at a realistic pace; default coalescing window."""
    settings = make_settings(prefix, rules_file, coalesce_window_seconds=2.0)
    sandbox_app = create_sandbox(seed_workspace(entries=5000, seed=1))
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as sandbox_url:
        settings = settings.model_copy(update={"awork_api_url": sandbox_url})
        async with web_process(settings) as web_url, worker_running(settings):
            await register_webhook(settings, SANDBOX_TOKEN, f"{web_url}/webhooks/awork")
            rules = resolved_rules(settings.rules_file, sandbox)
            sandbox.reset_calls()
            events = [
                envelope("timetracking_updated", e, triggered_by=PERSON, changes=None)
                for e in sandbox.workspace.entries.values()
            ]
            statuses = await post_events(web_url, events)
            assert statuses.count(202) == 5000
            await quiet(redis, prefix, sandbox, timeout=120)
            assert pending_changes(sandbox, rules) == []
            reads = sandbox.count("GET", "/timeentries")
            writes = sandbox.count("POST", "/timeentries/batch/{operation}")
    print(
        f"\n5,000-event burst: {reads} reads + {writes} writes = {reads + writes} awork calls "
        f"({(reads + writes) / 5000:.4f} per event)"
    )
    assert reads + writes <= 100


async def test_an_entry_awork_keeps_returning_stale_is_dead_lettered_and_counted(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """A webhook announced a version awork never returns: after `STALE_GIVE_UP_MS` the entry is
    dead-lettered as `stale` — in the dead letters and in their metric, like every other reason."""
    sandbox_app = create_sandbox(seed_workspace(entries=5, seed=2))
    async with running(sandbox_app) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with billing_for(settings, redis) as billing:
            entry = next(iter(sandbox_app.state.sandbox.workspace.entries.values()))
            long_ago = int(time.time() * 1000) - STALE_GIVE_UP_MS - 1000
            record = PendingRecord(version=entry["resourceVersion"] + 1, first_seen_ms=long_ago)
            await billing.process.queue.add([IngestItem(entry["id"], record)])
            counts = await flush(job_ctx(billing, f"{prefix}:flush:1"))
            metric = billing.process.metrics.value(
                "awork_billing_dead_letters_added_total", reason="stale"
            )
    assert counts["stale_dead"] == 1
    assert metric == 1
    assert [(d["entry_id"], d["reason"]) for d in await dead_letters(redis, prefix)] == [
        (entry["id"], "stale")
    ]
