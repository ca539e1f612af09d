"""Rules that see the whole workspace: tags, custom fields, retainers; project changes; people's
manual changes; rules reloaded from a changed file. End to end against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.sandbox import envelope, project_updated, seed_workspace
from tests.support.config import make_settings
from tests.support.pipeline import post_events, quiet, resolved_rules
from tests.support.records import audit_rows
from workers.cli.stack import Stack, local_stack
from workers.rules import is_running_timer, plan

WORKSPACE_RULES = """
version: 1
rules:
  - name: internal-tag-is-unbillable
    when: {project.company.tags: {contains: internal}}
    then: {billable: false}
  - name: retainers-are-billed
    when: {project.isRetainer: true}
    then: {billable: true, billed: true}
  - name: billing-model-fixed-price-is-billable
    when: {project.customFields.Billing model: "Fixed price"}
    then: {billable: true}
  - name: pitches-are-unbillable
    when: {project.tags: {contains: pitch}}
    then: {billable: false}
"""


def someone(ws: Any) -> dict[str, Any]:
    """A person of the workspace (not the service's API user)."""
    return dict(ws.person(next(u for u in ws.users if u != ws.api_user["id"])))


def updates(stack: Stack, ids: list[str] | None = None, **kw: Any) -> list[dict[str, Any]]:
    ws = stack.sandbox.workspace
    person = someone(ws)
    return [
        envelope("timetracking_updated", ws.entries[i], triggered_by=person, **kw)
        for i in (ids or list(ws.entries))
    ]


@pytest.fixture
async def stack(prefix: str, tmp_path: Path) -> AsyncIterator[Stack]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(WORKSPACE_RULES)
    settings = make_settings(prefix, rules, rules_reload_seconds=0.2)
    async with local_stack(settings, seed_workspace(entries=200, seed=4)) as running_stack:
        running_stack.sandbox.reset_calls()
        yield running_stack


async def converge(stack: Stack, redis: Redis, events: list[dict[str, Any]]) -> None:
    assert set(await post_events(stack.web_url, events)) == {202}
    await quiet(redis, stack.settings.redis_prefix, stack.sandbox)


async def test_tags_custom_fields_and_retainers_converge_with_few_lookups(
    stack: Stack, redis: Redis
) -> None:
    ws = stack.sandbox.workspace
    before = {i: e["isBilled"] for i, e in ws.entries.items()}
    await converge(stack, redis, updates(stack, changes=None))
    # the engine alone cannot see tags: check the outcome against the sandbox's own records
    internal = {
        c["id"] for c in ws.companies.values() if any(t["name"] == "internal" for t in c["tags"])
    }
    checked = 0
    for entry in ws.entries.values():
        project = ws.projects.get(entry.get("projectId") or "")
        if project is None or is_running_timer(entry) or before[entry["id"]]:
            continue
        if project.get("isRetainer"):
            assert entry["isBilled"], entry["id"]
            assert entry["isBillable"], entry["id"]
        if project.get("companyId") in internal:
            assert entry["isBillable"] is False, entry["id"]
        checked += 1
    assert checked > 100
    lookups = {t: stack.sandbox.count("GET", t) for t in ("/projects", "/companies")}
    # bulk reads of the projects (9) and companies (5) the flushes meet, then cached: at most
    # one read per flush while new ones appear (a 200-event burst spans a few 0.2 s windows)
    assert 1 <= lookups["/projects"] <= 3
    assert 1 <= lookups["/companies"] <= 3
    assert stack.sandbox.count("GET", "/customfielddefinitions") == 1
    assert stack.sandbox.count("GET", "/projects/{id}") == 0
    # a second burst is served from the cache
    stack.sandbox.reset_calls()
    await converge(stack, redis, updates(stack, changes=None))
    assert stack.sandbox.count("GET", "/projects") == 0


async def test_a_project_becoming_a_retainer_bills_its_entries(stack: Stack, redis: Redis) -> None:
    await converge(stack, redis, updates(stack, changes=None))
    ws = stack.sandbox.workspace
    project = next(p for p in ws.projects.values() if p["name"] == "Hafenkante Dashboard")
    entries = [
        e
        for e in ws.entries.values()
        if e.get("projectId") == project["id"] and e.get("duration") and not e.get("isBilled")
    ]
    assert entries
    project["isRetainer"] = True
    project["resourceVersion"] = project.get("resourceVersion", 0) + 1
    person = someone(ws)
    event = project_updated(project, triggered_by=person)
    await converge(stack, redis, [event])
    assert all(ws.entries[e["id"]]["isBilled"] for e in entries)


async def test_manual_changes_are_respected_when_asked(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "version: 1\nrespect_manual_changes: true\nrules:\n"
        "  - name: all-billable\n    when: {}\n    then: {billable: true}\n"
    )
    settings = make_settings(prefix, rules_file)
    async with local_stack(settings, seed_workspace(entries=40, seed=8)) as stack:
        ws = stack.sandbox.workspace
        await converge(stack, redis, updates(stack, changes=None))
        entry = next(e for e in ws.entries.values() if e.get("duration") and not e["isBilled"])
        person = someone(ws)
        ws.update_entry(entry["id"], {"isBillable": False}, by=person)
        change = [{"property": "IsBillable", "old": "True", "new": "False"}]
        event = envelope("timetracking_updated", entry, triggered_by=person, changes=change)
        await converge(stack, redis, [event])
        assert ws.entries[entry["id"]]["isBillable"] is False
        rows = await audit_rows(redis, prefix, count=1000)
    kept = [r for r in rows if r["outcome"] == "manual_kept"]
    assert [(r["entry"], r["attribute"]) for r in kept] == [(entry["id"], "billable")]


async def test_rules_reload_without_restart_and_keep_the_old_ones_on_error(
    stack: Stack, redis: Redis
) -> None:
    path = Path(stack.settings.rules_file)
    ws = stack.sandbox.workspace
    path.write_text(
        "version: 1\nrules:\n  - name: nothing-is-billable\n    when: {}\n"
        "    then: {billable: false}\n"
    )
    await asyncio.sleep(0.6)
    await converge(stack, redis, updates(stack, changes=None))
    assert not any(
        e["isBillable"] for e in ws.entries.values() if e.get("duration") and not e.get("isBilled")
    )
    path.write_text("version: 1\nrules: [oops\n")
    await asyncio.sleep(0.6)
    target = next(e for e in ws.entries.values() if e.get("duration") and not e.get("isBilled"))
    ws.update_entry(target["id"], {"isBillable": True}, by=someone(ws))
    await converge(stack, redis, updates(stack, [target["id"]], changes=None))
    assert ws.entries[target["id"]]["isBillable"] is False


async def test_a_project_change_keeps_what_people_set_by_hand(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    """The entries a project change re-evaluates go the same way as queued ones: an attribute a
    person set by hand stays theirs (`respect_manual_changes`)."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "version: 1\nrespect_manual_changes: true\nrules:\n"
        "  - name: retainers-are-billable\n    when: {project.isRetainer: true}\n"
        "    then: {billable: true}\n"
    )
    settings = make_settings(prefix, rules_file)
    async with local_stack(settings, seed_workspace(entries=200, seed=4)) as stack:
        ws = stack.sandbox.workspace
        project = next(p for p in ws.projects.values() if p["name"] == "Hafenkante Dashboard")
        mine = [
            e
            for e in ws.entries.values()
            if e.get("projectId") == project["id"] and e.get("duration") and not e["isBilled"]
        ]
        kept, *others = mine
        person = someone(ws)
        ws.update_entry(kept["id"], {"isBillable": False}, by=person)
        for other in others:
            ws.update_entry(other["id"], {"isBillable": False}, by=ws.api_user)
        change = [{"property": "IsBillable", "old": "True", "new": "False"}]
        by_hand = envelope("timetracking_updated", kept, triggered_by=person, changes=change)
        await converge(stack, redis, [by_hand])
        project["isRetainer"] = True
        project["resourceVersion"] = project.get("resourceVersion", 0) + 1
        event = project_updated(project, triggered_by=person)
        await converge(stack, redis, [event])
        assert others
        assert all(ws.entries[e["id"]]["isBillable"] for e in others)
        assert ws.entries[kept["id"]]["isBillable"] is False
        rows = await audit_rows(redis, prefix, count=1000)
    kept_rows = [(r["entry"], r["attribute"]) for r in rows if r["outcome"] == "manual_kept"]
    assert kept_rows == [(kept["id"], "billable")]


async def test_only_a_person_s_update_that_changes_an_attribute_locks_it(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    """A new entry lists every property it was created with, an update may repeat a value:
    neither is a person choosing the billing. Only old ≠ new in an update locks."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "version: 1\nrespect_manual_changes: true\nrules:\n"
        "  - name: all-billable\n    when: {}\n    then: {billable: true}\n"
    )
    settings = make_settings(prefix, rules_file)
    async with local_stack(settings, seed_workspace(entries=40, seed=8)) as stack:
        ws = stack.sandbox.workspace
        person = someone(ws)
        finished = [e for e in ws.entries.values() if e.get("duration") and not e["isBilled"]]
        added, repeated, changed = finished[:3]
        events = [
            envelope("timetracking_added", added, triggered_by=person, changes=_set(None, "False")),
            envelope(
                "timetracking_updated",
                repeated,
                triggered_by=person,
                changes=_set("False", "False"),
            ),
            envelope(
                "timetracking_updated", changed, triggered_by=person, changes=_set("True", "False")
            ),
        ]
        await converge(stack, redis, events)
        keys = Keys(prefix)
        locked = {e["id"] for e in finished[:3] if await redis.exists(keys.manual(e["id"]))}
    assert locked == {changed["id"]}


async def test_an_event_without_its_author_is_not_taken_for_an_echo(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    """awork left `triggeredBy` out of a person's change; the service's own echo of the same
    entry arrives in the same window. Merged, the entry must still be evaluated."""
    async with local_stack(
        make_settings(prefix, rules_file), seed_workspace(entries=60, seed=2)
    ) as stack:
        ws = stack.sandbox.workspace
        rules = resolved_rules(stack.settings.rules_file, stack.sandbox)
        entry = next(e for e in ws.entries.values() if plan(e, rules))
        echo = envelope("timetracking_updated", entry, triggered_by=ws.api_user, changes=None)
        anonymous = envelope("timetracking_updated", entry, triggered_by=someone(ws), changes=None)
        del anonymous["triggeredBy"]
        await converge(stack, redis, [echo, anonymous])
        assert plan(ws.entries[entry["id"]], rules) == []


def _set(old: str | None, new: str) -> list[dict[str, Any]]:
    return [{"property": "IsBillable", "old": old, "new": new}]
