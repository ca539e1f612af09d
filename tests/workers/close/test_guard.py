"""The guard on closed entries: the rules never change one, and every change made to one is
recorded (an audit line, a metric) — or, with CLOSE_GUARD_RESTORE, un-billing is undone."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.contract import IngestItem, PendingRecord
from service.contract.webhooks import WEBHOOK_PATH
from service.sandbox import SandboxState, create_sandbox, envelope, running, seed_workspace
from service.web.app import create_app
from tests.support.closes import CLOSE_RULES, COMPANY, MONTH, PERSON
from tests.support.config import SANDBOX_TOKEN, make_settings
from tests.support.pipeline import quiet
from tests.support.records import audit_rows
from tests.support.worker import billing_for, job_ctx
from workers.apply import Billing
from workers.cli.stack import register_webhook, worker_running
from workers.close import Period, PreviewRequest, Scope, Selection, commit, preview
from workers.jobs.flush import flush
from workers.rules import load_rules

REFERENCE = "2026-10-NL"
_jobs = itertools.count(1)


@dataclass
class Closed:
    billing: Billing
    state: SandboxState
    ids: list[str]

    def entry(self, n: int = 0) -> dict[str, Any]:
        return self.state.workspace.entries[self.ids[n]]

    def edit(self, n: int, **values: Any) -> None:
        self.state.workspace.update_entry(self.ids[n], values, by=PERSON)

    async def flush(self, n: int, event: str = "timetracking_updated") -> dict[str, int]:
        entry_id = self.ids[n]
        version = self.state.workspace.entries.get(entry_id, {}).get("resourceVersion", 0)
        record = PendingRecord(version=version, event=event, by=[PERSON["id"]])
        await self.billing.process.queue.add([IngestItem(entry_id, record)])
        prefix = self.billing.process.keys.prefix
        return await flush(job_ctx(self.billing, f"{prefix}:flush:{next(_jobs)}"))

    def metric(self, change: str) -> float:
        name = "awork_billing_closed_entry_changes_total"
        return self.billing.process.metrics.value(name, change=change)


async def close_month(billing: Billing, out: Path) -> list[str]:
    """Preview and commit the company's month; the ids billed."""
    selection = Selection(Scope.company(COMPANY), Period.month(MONTH))
    snapshot = await preview(billing, PreviewRequest(selection, by="tester"))
    result = await commit(billing.process, snapshot.close_id, REFERENCE, out, "tester")
    return [e.line.entry_id for e in result.record.entries]


@pytest.fixture
async def closed(
    prefix: str, tmp_path: Path, redis: Redis, request: pytest.FixtureRequest
) -> AsyncIterator[Closed]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(CLOSE_RULES)
    restore = getattr(request, "param", False)
    sandbox = create_sandbox(seed_workspace(entries=300, seed=8))
    async with running(sandbox) as url:
        settings = make_settings(prefix, rules, awork_api_url=url, close_guard_restore=restore)
        async with billing_for(settings, redis) as billing:
            ids = await close_month(billing, tmp_path / "out")
            assert len(ids) > 3
            yield Closed(billing, sandbox.state.sandbox, sorted(ids))


async def guard_rows(redis: Redis, prefix: str) -> list[dict[str, Any]]:
    return [r for r in await audit_rows(redis, prefix) if r["outcome"] == "closed_entry_changed"]


async def test_an_edit_of_a_closed_entry_is_an_audit_line_and_a_metric(
    closed: Closed, redis: Redis, prefix: str
) -> None:
    old = closed.entry()["duration"]
    closed.edit(0, duration=old + 1800)
    counts = await closed.flush(0)
    assert counts["closed"] == 1
    (row,) = await guard_rows(redis, prefix)
    assert (row["entry"], row["rule"], row["attribute"]) == (
        closed.ids[0],
        "close-guard",
        "duration",
    )
    assert (row["old"], row["new"]) == (str(old), str(old + 1800))
    assert row["trigger"].startswith(f"close {REFERENCE}: timetracking_updated by {PERSON['id']}")
    assert closed.metric("duration") == 1
    await closed.flush(0)  # the same state again: recorded once
    assert len(await guard_rows(redis, prefix)) == 1


async def test_every_watched_attribute_counts_but_not_the_note(
    closed: Closed, redis: Redis, prefix: str
) -> None:
    ws = closed.state.workspace
    other_project = next(p for p in ws.projects if p != closed.entry(1)["projectId"])
    closed.edit(1, projectId=other_project, isBillable=False, note="edited")
    await closed.flush(1)
    closed.edit(2, note="only the note")
    await closed.flush(2)
    rows = await guard_rows(redis, prefix)
    assert {(r["entry"], r["attribute"]) for r in rows} == {
        (closed.ids[1], "projectId"),
        (closed.ids[1], "isBillable"),
    }
    assert closed.metric("projectId") == closed.metric("isBillable") == 1


async def test_the_rules_never_change_a_closed_entry(
    closed: Closed, redis: Redis, prefix: str, tmp_path: Path
) -> None:
    # a rule that would make every entry unbillable (and so un-bill the closed ones)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: nothing-billable\n"
        "    when: {}\n    then: {billable: false}\n"
    )
    closed.billing.rules = load_rules(rules)
    before = dict(closed.entry(0))
    counts = await closed.flush(0)
    assert counts.get("closed") == 1
    assert closed.entry(0) == before
    rules_rows = [r for r in await audit_rows(redis, prefix) if r["rule"] == "nothing-billable"]
    assert rules_rows == []


@pytest.mark.parametrize("closed", [True], indirect=True)
async def test_with_restore_an_unbilled_closed_entry_is_billed_again(
    closed: Closed, redis: Redis, prefix: str
) -> None:
    closed.edit(0, isBilled=False)
    await closed.flush(0)
    assert closed.entry(0)["isBilled"] is True
    rows = await audit_rows(redis, prefix)
    (changed,) = [r for r in rows if r["outcome"] == "closed_entry_changed"]
    assert (changed["attribute"], changed["old"], changed["new"]) == ("isBilled", "true", "false")
    (restored,) = [r for r in rows if r["outcome"] == "applied" and r["rule"] == "close-guard"]
    assert (restored["entry"], restored["attribute"], restored["new"]) == (
        closed.ids[0],
        "billed",
        "true",
    )
    assert closed.metric("isBilled") == 1


async def test_without_restore_an_unbilled_closed_entry_stays_unbilled(
    closed: Closed, redis: Redis, prefix: str
) -> None:
    closed.edit(0, isBilled=False)
    await closed.flush(0)
    assert closed.entry(0)["isBilled"] is False
    assert [r["attribute"] for r in await guard_rows(redis, prefix)] == ["isBilled"]


async def test_an_unbilled_closed_entry_is_not_closed_again(closed: Closed) -> None:
    """Billing it in a second close would invoice it twice: it is held back, naming its close."""
    closed.edit(0, isBilled=False)
    selection = Selection(Scope.company(COMPANY), Period.month(MONTH))
    again = await preview(closed.billing, PreviewRequest(selection, by="tester"))
    assert closed.ids[0] not in {p.line.entry_id for p in again.planned}
    assert {"id": closed.ids[0], "reason": "already_closed", "close": REFERENCE}.items() <= next(
        a for a in again.anomalies if a["id"] == closed.ids[0]
    ).items()


async def test_deleting_a_closed_entry_is_recorded(
    closed: Closed, redis: Redis, prefix: str
) -> None:
    del closed.state.workspace.entries[closed.ids[0]]
    await closed.flush(0, event="timetracking_deleted")
    del closed.state.workspace.entries[closed.ids[1]]
    await closed.flush(1)  # a change announced, the entry gone when read
    await closed.flush(1, event="timetracking_deleted")  # its delete event after: once only
    rows = await guard_rows(redis, prefix)
    assert sorted((r["entry"], r["attribute"]) for r in rows) == sorted(
        [(closed.ids[0], "deleted"), (closed.ids[1], "deleted")]
    )
    assert closed.metric("deleted") == 2


async def test_an_edit_reaching_the_worker_by_webhook_is_caught(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    """The whole pipeline: awork's webhook -> web app -> queue -> worker -> the guard."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(CLOSE_RULES)
    sandbox = create_sandbox(seed_workspace(entries=300, seed=8))
    state: SandboxState = sandbox.state.sandbox
    async with running(sandbox) as url:
        settings = make_settings(prefix, rules, awork_api_url=url)
        async with running(create_app(settings)) as web_url, worker_running(settings) as worker:
            await register_webhook(settings, SANDBOX_TOKEN, f"{web_url}{WEBHOOK_PATH}")
            async with billing_for(settings, redis) as billing:
                ids = sorted(await close_month(billing, tmp_path / "out"))
            await quiet(redis, prefix, state)  # the echoes of the close's own writes
            entry_id = ids[0]
            entry = state.workspace.entries[entry_id]
            changes = state.workspace.update_entry(
                entry_id, {"duration": entry["duration"] + 600}, by=PERSON
            )
            event = envelope("timetracking_updated", entry, triggered_by=PERSON, changes=changes)
            await state.deliver([event])
            await quiet(redis, prefix, state)
            metrics = worker.ctx["process"].metrics
            changed = metrics.value("awork_billing_closed_entry_changes_total", change="duration")
    rows = await guard_rows(redis, prefix)
    assert [(r["entry"], r["attribute"]) for r in rows] == [(entry_id, "duration")]
    assert changed == 1
