"""Budget-aware rules end to end (issue 13): people book, delete and move time through awork's API
(the sandbox), webhooks reach the web app, the worker decides each budget's entries in order —
and the sandbox ends where the budget says. Also: what a re-evaluation costs in reads, the
gauge and the audit line of each threshold, and awork refusing the retainers read."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.sandbox import Workspace, create_sandbox
from service.sandbox import running as serving
from tests.support.budgets import (
    HOUR,
    RULES_MARKING_WITHIN,
    Booker,
    Retainer,
    over,
    retainer_client,
    this_month,
)
from tests.support.config import make_settings
from tests.support.pipeline import post_events, quiet
from tests.support.records import audit_rows, dead_letters
from tests.support.refusals import Refusing
from tests.support.worker import billing_for, job_ctx
from workers.apply import Batch, Billing, Pending
from workers.apply.budgetrecords import BudgetRecords
from workers.cli.stack import Stack, local_stack
from workers.jobs.reconcile import reconcile
from workers.telemetry import WorkerMetrics

READS = ("/timeentries", "/projects", "/projects/{id}/retainers")

PROJECT_BUDGET_RULES = """
version: 1
rules:
  - name: over-budget-is-unbillable
    when: {budget.kind: project, budget.within: false}
    then: {billable: false}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_MARKING_WITHIN)
    return path


async def running(prefix: str, rules: Path, ws: Workspace) -> Any:
    settings = make_settings(prefix, rules, reconcile_interval_seconds=0)
    return local_stack(settings, ws)


@pytest.fixture
def november() -> Retainer:
    return retainer_client(10)


@pytest.fixture
async def stack(prefix: str, rules: Path, november: Retainer) -> AsyncIterator[Stack]:
    async with await running(prefix, rules, november.ws) as running_stack:
        yield running_stack


def within(ws: Workspace, ids: list[str]) -> list[bool]:
    """Each entry's `budget.within`, as the rules marked it in the sandbox."""
    return [not o for o in over(ws, ids)]


def reads(stack: Stack) -> int:
    return sum(stack.sandbox.count("GET", path) for path in READS)


async def settled(stack: Stack, redis: Redis) -> None:
    await quiet(redis, stack.settings.redis_prefix, stack.sandbox)


async def test_a_month_is_decided_in_start_order_and_a_deletion_brings_the_next_two_back(
    stack: Stack, redis: Redis, november: Retainer
) -> None:
    hours = [2, 2, 2, 2, 2, 1, 1, 2]  # a 10 h month with 14 h booked
    async with Booker(stack.sandbox_url) as anna:
        ids = [
            await anna.book(november.form(f"2026-11-{day:02d}", "10:00", h))
            for day, h in zip(range(2, 10), hours, strict=True)
        ]
        await settled(stack, redis)
        assert within(november.ws, ids) == [True] * 5 + [False] * 3  # past 10 h: over
        await anna.delete(ids[1])  # an early 2 h entry
        await settled(stack, redis)
        left = ids[:1] + ids[2:]
        assert within(november.ws, left) == [True] * 6 + [False]  # the two 1 h ones are back
        early = await anna.book(november.form("2026-11-01", "09:00", 3))  # back-dated
        await settled(stack, redis)
    assert within(november.ws, [early, *left]) == [True] * 4 + [False] * 4


async def test_moving_an_entry_out_of_its_month_decides_the_month_it_left_again(
    stack: Stack, redis: Redis, november: Retainer
) -> None:
    other = next(p for p in november.ws.projects.values() if p["name"] == "Hafenkante Dashboard")
    async with Booker(stack.sandbox_url) as anna:
        first = await anna.book(november.form("2026-11-03", "10:00", 6))
        second = await anna.book(november.form("2026-11-04", "10:00", 6))
        await settled(stack, redis)
        assert within(november.ws, [first, second]) == [True, False]
        await anna.move(first, other["id"])
        await settled(stack, redis)
    assert within(november.ws, [second]) == [True]  # alone in its month now: within


async def test_a_thousand_entry_retainer_project_is_reevaluated_in_three_reads(
    prefix: str, rules: Path, redis: Redis
) -> None:
    november = retainer_client(100)
    weekdays = [d for d in range(2, 31) if (d + 6) % 7 < 5]  # November 2026 starts on a Sunday
    slots = [
        (f"2026-11-{d:02d}", f"{8 + n // 6:02d}:{n % 6 * 10:02d}")
        for d in weekdays
        for n in range(50)
    ]
    ids = [str(november.add(day, clock, 0.25)["id"]) for day, clock in slots[:1000]]
    assert len(ids) == 1000
    async with await running(prefix, rules, november.ws) as stack:
        stack.sandbox.reset_calls()
        event = _project_updated(november, november.project)
        assert await post_events(stack.web_url, [event]) == [202]
        await settled(stack, redis)
        whole = reads(stack)
        assert within(november.ws, ids) == [True] * 400 + [False] * 600  # 100 h of 250 h
        # then one entry at a time, the caches warm: the entry (if any) and its month
        async with Booker(stack.sandbox_url) as anna:
            stack.sandbox.reset_calls()
            await anna.delete(ids[0])
            await settled(stack, redis)
            deletion = reads(stack)
            assert within(november.ws, ids[1:]) == [True] * 400 + [False] * 599
            stack.sandbox.reset_calls()
            await anna.book(november.form("2026-11-01", "09:00", 0.5))  # back-dated, 2 slots
            await settled(stack, redis)
            booking = reads(stack)
    assert within(november.ws, ids[1:]) == [True] * 398 + [False] * 601
    print(f"\nreads: project change {whole}, deletion {deletion}, booking {booking}")
    assert whole <= 3
    assert deletion <= 1
    assert booking <= 2


async def test_the_gauge_shows_each_budget_and_each_threshold_is_one_audit_line(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(PROJECT_BUDGET_RULES + RULES_MARKING_WITHIN.split("rules:", 1)[1])
    now = retainer_client(2, month=this_month())  # a retainer month holding today
    ws = now.ws
    fixed = next(p for p in ws.projects.values() if p["name"] == "Hafenkante Dashboard")
    fixed["timeBudget"] = 10 * HOUR
    for entry_id in [i for i, e in ws.entries.items() if e.get("projectId") == fixed["id"]]:
        del ws.entries[entry_id]
    async with await running(prefix, rules, ws) as stack:
        assert stack.billing is not None
        metrics = stack.billing.process.metrics
        gauge = "awork_billing_budget_used_percent"
        async with Booker(stack.sandbox_url) as anna:
            seen: list[tuple[float, list[str]]] = []
            for hours, day in ((5, 2), (2.5, 3), (1.5, 4), (1, 5), (1, 6)):
                form = {**now.form(f"2026-11-{day:02d}", "10:00", hours), "projectId": fixed["id"]}
                form.pop("taskId")
                booked = await anna.book(form)
                await settled(stack, redis)
                rows = [r for r in await audit_rows(redis, prefix) if r["rule"] == "budget"]
                passed = [r["outcome"] for r in rows if r["entry"] == booked]
                seen.append((metrics.value(gauge, project=fixed["id"], kind="project"), passed))
            this = now.form(f"{this_month()[0]}-{this_month()[1]:02d}-01", "12:00", 1)
            await anna.book(this)
            await settled(stack, redis)
            retainer_use = metrics.value(gauge, project=now.project_id, kind="retainer")
    assert seen == [
        (50.0, ["budget_passed_50"]),
        (75.0, ["budget_passed_75"]),
        (90.0, ["budget_passed_90"]),
        (100.0, ["budget_passed_100"]),
        (100.0, []),  # over: unbillable, so it does not count; nothing passed again
    ]
    assert retainer_use == 50.0  # 1 h of this month's 2 h
    line = next(r for r in await audit_rows(redis, prefix) if r["outcome"] == "budget_passed_90")
    assert (line["attribute"], line["old"], line["new"]) == ("usedPercent", "75.0", "90.0")
    assert "Hafenkante Dashboard, project budget" in line["trigger"]
    counted = stack.billing.process.metrics.value
    thresholds = "awork_billing_budget_thresholds_passed_total"
    assert counted(thresholds, threshold="100") == 1
    assert counted(thresholds, threshold="50") == 2  # the project's, and this month's retainer


def _project_updated(retainer: Retainer, project: dict[str, Any]) -> dict[str, Any]:
    """awork's webhook for a change of `project` (its budget, say), by a person."""
    project["resourceVersion"] = retainer.ws.next_version()
    return {
        "eventType": "project_updated",
        "entityId": project["id"],
        "entityType": "project",
        "timestamp": "2026-11-27T10:00:00.1234567+00:00",
        "triggeredBy": retainer.ws.person(retainer.person()["id"]),
        "entity": project,
    }


@contextlib.asynccontextmanager
async def billing_on(prefix: str, rules: Path, redis: Redis, app: Any) -> AsyncIterator[Billing]:
    """A worker's `Billing` against `app` (the sandbox, or something in front of it)."""
    async with serving(app) as url:
        settings = make_settings(prefix, rules, awork_api_url=url)
        async with billing_for(settings, redis) as billing:
            yield billing


def pending(entries: list[dict[str, Any]]) -> list[Pending]:
    return [Pending.read(dict(e), "timetracking_updated", ["someone"]) for e in entries]


async def test_a_retainers_read_awork_refuses_dead_letters_only_that_projects_entries(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_MARKING_WITHIN + PROJECT_BUDGET_RULES.split("rules:", 1)[1])
    november = retainer_client(10, entries=40)
    refused_ids = [str(november.add("2026-11-03", "10:00", 11)["id"])]
    fixed = next(p for p in november.ws.projects.values() if p["name"] == "Hafenkante Dashboard")
    fixed["timeBudget"] = HOUR  # not a retainer project: its retainers are never read
    others = [e for e in november.ws.entries.values() if e.get("projectId") == fixed["id"]]
    assert others
    app = Refusing(
        create_sandbox(november.ws), lambda m, p, q: 403 if p.endswith("/retainers") else None
    )
    async with billing_on(prefix, rules, redis, app) as billing:
        batch = Batch(job_id="j")
        await billing.apply(pending([november.ws.entries[refused_ids[0]], *others]), batch)
    letters = await dead_letters(redis, prefix)
    assert [(d["entry_id"], d["reason"], str(d["status"])) for d in letters] == [
        (refused_ids[0], "rejected", "403")
    ]
    assert batch.counts["budgets"] == 1  # the project budget, evaluated whole
    assert over(november.ws, refused_ids) == [False]  # left as it was


async def test_a_closed_entry_is_never_changed_but_counts_in_its_month(
    prefix: str, rules: Path, redis: Redis
) -> None:
    november = retainer_client(10)
    closed, second, third = (november.add(f"2026-11-0{day}", "10:00", 4) for day in (2, 3, 4))
    async with billing_on(prefix, rules, redis, create_sandbox(november.ws)) as billing:
        await billing.guard.store.close("2026-11-ACME", [closed])
        batch = Batch(job_id="j")
        await billing.apply(pending([third]), batch)
    assert over(november.ws, [closed["id"], second["id"], third["id"]]) == [False, False, True]
    assert november.ws.entries[closed["id"]]["typeOfWorkId"] == closed["typeOfWorkId"]
    assert batch.counts["closed"] == 1


async def test_the_sweep_sees_a_month_raised_without_a_webhook_and_forgets_one_gone(
    prefix: str, rules: Path, redis: Redis
) -> None:
    november = retainer_client(10)
    first, second = (november.add(f"2026-11-0{day}", "10:00", 6) for day in (2, 3))
    async with billing_on(prefix, rules, redis, create_sandbox(november.ws)) as billing:
        await billing.apply(pending([first]), Batch(job_id="j"))
        assert over(november.ws, [first["id"], second["id"]]) == [False, True]
        november.retainer["timeBudget"] = 12 * HOUR  # awork sends no webhook for this
        counts = await reconcile(job_ctx(billing, "sweep-1"))
        assert counts["budgets_changed"] == 1
        assert over(november.ws, [first["id"], second["id"]]) == [False, False]
        del november.ws.retainers[november.retainer["id"]]  # the retainer is gone
        await reconcile(job_ctx(billing, "sweep-2"))
        assert await billing.budgets.records.all() == {}


async def test_every_worker_shows_the_budgets_the_others_evaluated(
    prefix: str, rules: Path, redis: Redis
) -> None:
    november = retainer_client(10, month=this_month())
    day = f"{this_month()[0]}-{this_month()[1]:02d}-01"
    entry = november.add(day, "00:30", 2.5)
    gauge = "awork_billing_budget_used_percent"
    async with billing_on(prefix, rules, redis, create_sandbox(november.ws)) as billing:
        await billing.apply(pending([entry]), Batch(job_id="j"))
        metrics = WorkerMetrics()  # another worker's, which evaluated nothing
        other = BudgetRecords(redis, billing.process.keys, billing.records.audit, metrics)
        await other.refresh_gauges()
        assert metrics.value(gauge, project=november.project_id, kind="retainer") == 25.0
        await other.forget(list(await other.all()))
        await other.refresh_gauges()
        assert metrics.value(gauge, project=november.project_id, kind="retainer") == 0.0
