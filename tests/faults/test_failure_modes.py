"""What a billing service must survive without getting stuck or silent (issue 10): a read awork
refuses for good, an entry that fails unexpectedly, a 2,500-entry project change with manual
locks. Each run reports its figures like the other fault scenarios."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.settings import Settings
from service.contract.webhooks import WEBHOOK_PATH
from service.sandbox import (
    Faults,
    SandboxState,
    Workspace,
    create_sandbox,
    envelope,
    project_updated,
    running,
    seed_workspace,
)
from service.web.app import create_app
from tests.faults.harness import Clock, Figures, Sender, updates
from tests.support.config import SANDBOX_TOKEN, make_settings
from tests.support.pipeline import pending_changes, quiet, resolved_rules
from tests.support.records import audit_rows, dead_letters
from tests.support.refusals import Refusing, Rule
from workers.cli.stack import register_webhook, worker_running
from workers.rules import is_running_timer

pytestmark = pytest.mark.faults

TASK_RULES = """
version: 1
rules:
  - name: support-tasks-are-unbillable
    when: {task.tags: {contains: support}}
    then: {billable: false}
  - name: client-work-is-billable
    when: {project.company.name: {exists: true}}
    then: {billable: true}
"""


@contextlib.asynccontextmanager
async def stack(
    settings: Settings, ws: Workspace, rule: Rule | None = None, *, echoes: bool = True
) -> AsyncIterator[tuple[Settings, str, SandboxState, Refusing]]:
    """Sandbox (behind `rule`'s refusals), web app and worker in this loop."""
    sandbox_app = create_sandbox(ws, faults=Faults(echo_webhooks=echoes))
    refusing = Refusing(sandbox_app, rule or (lambda method, path, query: None))
    async with running(refusing) as url:
        settings = settings.model_copy(update={"awork_api_url": url})
        async with running(create_app(settings)) as web_url:
            await register_webhook(settings, SANDBOX_TOKEN, f"{web_url}{WEBHOOK_PATH}")
            async with worker_running(settings):
                yield settings, web_url, sandbox_app.state.sandbox, refusing


async def test_a_read_awork_refuses_for_good_dead_letters_only_what_it_concerns(
    prefix: str, tmp_path: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    """The API key may not list tasks (403), and one bulk read of entries is refused (400): the
    entries those reads concern are dead-lettered with awork's error and Trace-Id, every other
    entry converges, and nothing is left queued — no poison batch."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(TASK_RULES)
    ws = seed_workspace(entries=300, seed=12)
    poisoned = sorted(i for i, e in ws.entries.items() if not e.get("taskId"))[0]

    def refuse(method: str, path: str, query: dict[str, list[str]]) -> int | None:
        if method == "GET" and path == "/tasks":
            return 403
        if method == "GET" and path == "/timeentries" and poisoned in str(query.get("filterby")):
            return 400
        return None

    settings = make_settings(prefix, rules_file, reconcile_interval_seconds=0)
    async with stack(settings, ws, refuse) as (settings, web_url, sandbox, refusing):
        clock = Clock()
        sender = Sender(web_url, concurrency=8, pause=0)
        await sender.send(updates(ws))
        await quiet(redis, prefix, sandbox, timeout=60)
        seconds = clock()
        rules = resolved_rules(settings.rules_file, sandbox)
        reads = sandbox.count("GET", "/timeentries")
    letters = await dead_letters(redis, prefix)
    by_entry = {str(d["entry_id"]): d for d in letters}
    with_task = {i for i, e in ws.entries.items() if e.get("taskId")}
    refused_read = {i for i in by_entry if i not in with_task}
    assert {d["reason"] for d in letters} == {"rejected"}
    assert {int(str(d["status"])) for d in letters} <= {400, 403}
    traces = {t for _, _, t in refusing.refused}
    assert {str(d["trace_id"]) for d in letters} <= traces
    assert poisoned in refused_read
    # every other entry ends where the rules (which read no task field for it) say
    wrong = {c.entry_id for c in pending_changes(sandbox, rules)}
    assert wrong <= set(by_entry) | with_task
    assert not await redis.exists(Keys(prefix).pending)
    assert await redis.scard(Keys(prefix).claims) == 0  # type: ignore[misc]
    report(
        Figures(
            "poison read: GET /tasks 403 for the key, one bulk read of entries 400",
            len(ws.entries),
            sender.accepted,
            0,
            0,
            len(refusing.refused),
            0,
            seconds,
            f"{len(by_entry)} entries dead-lettered 'rejected' with Trace-Id "
            f"({len(refused_read)} by the refused read), the rest converged; {reads} reads",
        )
    )


async def test_an_entry_that_fails_unexpectedly_is_isolated_then_dead_lettered(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    """Garbage in one entry's version key makes every flush that holds it raise: the others of
    its batch converge at once; it goes back with a failure count and, after three rounds, to
    the dead letters as `failed` with the exception."""
    ws = seed_workspace(entries=300, seed=13)
    settings = make_settings(prefix, rules_file, reconcile_interval_seconds=0)
    async with stack(settings, ws) as (settings, web_url, sandbox, _):
        rules = resolved_rules(settings.rules_file, sandbox)
        broken = sorted(c.entry_id for c in pending_changes(sandbox, rules))[0]
        await redis.set(Keys(prefix).version(broken), "garbage")
        clock = Clock()
        sender = Sender(web_url, concurrency=8, pause=0)
        await sender.send(updates(ws))
        await quiet(redis, prefix, sandbox, timeout=60)
        seconds = clock()
        wrong = {c.entry_id for c in pending_changes(sandbox, rules)}
    letters = await dead_letters(redis, prefix)
    assert wrong == {broken}
    assert [(d["entry_id"], d["reason"]) for d in letters] == [(broken, "failed")]
    assert "ValueError" in str(letters[0]["error"])
    report(
        Figures(
            "one entry fails unexpectedly in every flush (corrupt Redis key)",
            len(ws.entries),
            sender.accepted,
            0,
            0,
            0,
            0,
            seconds,
            "the others converged; it was isolated, retried 3 rounds, dead-lettered 'failed'",
        )
    )


RETAINER_RULES = """
version: 1
respect_manual_changes: true
rules:
  - name: retainers-are-billed
    when: {project.isRetainer: true}
    then: {billable: true, billed: true}
"""


def one_big_project(ws: Workspace, size: int) -> dict[str, Any]:
    """Move `size` finished entries into one project (the first of a company)."""
    project = next(
        p for p in ws.projects.values() if p.get("companyId") and not p.get("isRetainer")
    )
    template = next(
        e["project"] for e in ws.entries.values() if e.get("projectId") == project["id"]
    )
    moved = 0
    for entry in ws.entries.values():
        if moved == size:
            break
        if entry.get("duration") and not entry.get("isBilled"):
            entry["projectId"] = project["id"]
            entry["project"] = copy.deepcopy(template)
            entry["taskId"], entry["task"] = None, None
            moved += 1
    assert moved == size
    return project


async def test_a_2500_entry_project_change_reaches_every_entry_and_keeps_manual_locks(
    prefix: str, tmp_path: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RETAINER_RULES)
    ws = seed_workspace(entries=3600, seed=14)
    project = one_big_project(ws, 2500)
    settings = make_settings(
        prefix, rules_file, reconcile_interval_seconds=0, flush_timeout_seconds=5
    )
    # no echoes: 5,000 of them, delivered in this one loop, would only slow the test down
    async with stack(settings, ws, echoes=False) as (settings, web_url, sandbox, _):
        mine = [
            e
            for e in ws.entries.values()
            if e.get("projectId") == project["id"] and not is_running_timer(e)
        ]
        person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
        locked = mine[:5]
        change = [{"property": "IsBillable", "old": "True", "new": "False"}]
        by_hand = []
        for entry in locked:
            ws.update_entry(entry["id"], {"isBillable": False}, by=person)
            by_hand.append(
                envelope("timetracking_updated", entry, triggered_by=person, changes=change)
            )
        sender = Sender(web_url, concurrency=8, pause=0)
        await sender.send(by_hand)
        await quiet(redis, prefix, sandbox)
        sandbox.reset_calls()
        project["isRetainer"] = True
        project["resourceVersion"] = project.get("resourceVersion", 0) + 1
        event = project_updated(project, triggered_by=person)
        clock = Clock()
        await sender.send([event])
        await quiet(redis, prefix, sandbox, timeout=120)
        seconds = clock()
        reads = sandbox.count("GET", "/timeentries")
    unbilled = [e["id"] for e in mine[5:] if not ws.entries[e["id"]]["isBilled"]]
    assert unbilled == []
    assert all(ws.entries[e["id"]]["isBillable"] is False for e in locked)
    rows = await audit_rows(redis, prefix)
    kept = {r["entry"] for r in rows if r["outcome"] == "manual_kept"}
    assert kept == {e["id"] for e in locked}
    report(
        Figures(
            "a project of 2,500 entries becomes a retainer; 5 entries set by hand (locked)",
            1,
            1,
            0,
            0,
            0,
            0,
            seconds,
            f"2,495 billed, 5 kept as set by hand; {reads} reads of /timeentries "
            "(FLUSH_TIMEOUT_SECONDS=5)",
        )
    )
