"""The budget examples in deploy/rules/ (issue 13): valid, commented, simulated against the
sandbox's retainer client and fixed-budget projects — and, from outside (sandbox + web app +
worker, webhooks in), they bring the sandbox to the end state their comments promise.

(`tests/deploy/test_rule_examples.py` checks and simulates every example against the default
seed, which has no "Overage" type of work: the retainer example needs the sandbox's opt-in
retainer client, `seed_workspace(..., retainer_client=True)`, which brings one.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.sandbox import Workspace, create_sandbox, envelope, running, seed_workspace
from service.sandbox import budgets as sandbox_budgets
from service.sandbox.clock import parse_datetime, ticks
from service.sandbox.timing import start_of
from tests.support.budgets import PROJECT_NAME, Booker, Retainer
from tests.support.cli import cli, run, use_env
from tests.support.config import make_settings
from tests.support.pipeline import post_events, quiet, resolved_rules
from workers.cli.expected import wanted_changes
from workers.cli.stack import local_stack

RULES = Path(__file__).parents[2] / "deploy" / "rules"
RETAINER = RULES / "example-retainer-overage.yaml"
PROJECT = RULES / "example-project-budget.yaml"


@pytest.mark.parametrize("path", [RETAINER, PROJECT], ids=lambda p: p.stem)
def test_the_example_is_valid_and_commented(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    outcome = run(capsys, "check-rules", str(path))
    assert outcome.code == 0, outcome.err
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Example policy: ")
    assert f"awork-billing check-rules deploy/rules/{path.name}" in path.read_text()
    assert sum(line.lstrip().startswith("#") for line in lines) >= 8


def over_the_retainer(ws: Workspace) -> Retainer:
    """The retainer client with a 3 h booking on its last November day: 19 h + 3 h of 20 h."""
    project = next(p for p in ws.projects.values() if p["name"] == PROJECT_NAME)
    (retainer,) = [r for r in ws.retainers.values() if r["projectId"] == project["id"]]
    month = Retainer(ws, project, retainer)
    month.add("2026-11-20", "16:00", 3)
    return month


async def test_the_examples_simulate_against_the_budget_seed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, prefix: str, tmp_path: Path
) -> None:
    ws = seed_workspace(entries=600, seed=7, retainer_client=True, project_budgets=True)
    over_the_retainer(ws)
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps(list(ws.entries.values())))
    app = create_sandbox(ws)
    reports: dict[str, Any] = {}
    async with running(app) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=RETAINER, awork_url=url)
        for path in (RETAINER, PROJECT):
            argv = ["simulate", "--rules", str(path), "--entries", str(entries), "--json"]
            outcome = await cli(capsys, *argv)
            assert outcome.code == 0, outcome.err
            reports[path.stem] = {r["name"]: r for r in outcome.json()["rules"]}
            assert outcome.json()["rule_errors"] == 0
    assert app.state.sandbox.count("POST") == 0
    retainer = reports["example-retainer-overage"]
    assert retainer["retainer-overage"]["changes"]["type_of_work"] == 1  # the 3 h booking
    assert retainer["retainer-hours-are-billed"]["changes"]["billed"] >= 10  # November's
    project = reports["example-project-budget"]
    assert project["over-budget-is-unbillable"]["changes"]["billable"] >= 10


def in_order(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By start instant, then `createdOn`, then id — the sandbox's own readings."""
    return sorted(entries, key=lambda e: (start_of(e) or 0, e.get("createdOn") or "", e["id"]))


def months(ws: Workspace, project_id: str) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Each retainer month of the project as the sandbox serves it: its seconds, its entries."""
    (retainer,) = sandbox_budgets.retainers_of(ws, project_id)
    for period in sandbox_budgets.retainer_view(ws, retainer)["retainerBudgets"]:
        start, end = (parse_datetime(period[k]) for k in ("startDate", "endDate"))
        assert start is not None
        assert end is not None
        first, last = ticks(start), ticks(end)
        mine = [
            e
            for e in ws.entries.values()
            if e.get("projectId") == project_id and first <= (start_of(e) or 0) < last
        ]
        yield period["timeBudget"], in_order(mine)


async def test_the_retainer_example_converges_the_retainer_client_from_outside(
    prefix: str, redis: Redis
) -> None:
    ws = seed_workspace(entries=100, seed=7, retainer_client=True)
    month = over_the_retainer(ws)  # already booked: awork's webhook for it was lost, say
    billed_before = {i for i, e in ws.entries.items() if e["isBilled"]}
    settings = make_settings(prefix, RETAINER, reconcile_interval_seconds=0)
    async with local_stack(settings, ws) as stack:
        person = ws.person(month.person()["id"])
        mine = [e for e in ws.entries.values() if e.get("projectId") == month.project_id]
        events = [
            envelope("timetracking_updated", e, triggered_by=person, changes=None) for e in mine
        ]
        assert set(await post_events(stack.web_url, events)) == {202}
        async with Booker(stack.sandbox_url) as anna:
            late = await anna.book(month.form("2026-11-27", "09:00", 1))  # over as well
        await quiet(redis, prefix, stack.sandbox)
        rules = resolved_rules(str(RETAINER), stack.sandbox)
    overage = next(t["id"] for t in ws.types_of_work.values() if t["name"] == "Overage")
    over: list[str] = []
    for seconds, entries in months(ws, month.project_id):
        used = 0
        for entry in entries:
            if not entry.get("duration"):
                continue  # a running timer: left alone, never counts
            within = used + entry["duration"] <= seconds
            if within:
                assert (entry["isBillable"], entry["isBilled"]) == (True, True), entry["id"]
            elif entry["id"] not in billed_before:
                over.append(entry["id"])
                assert entry["isBillable"] is True
                assert (entry["isBilled"], entry["typeOfWorkId"]) == (False, overage)
            used += entry["duration"]  # billable, within or over: it counts
    assert late in over
    assert len(over) == 2  # the 3 h booking crossing the line, and the later 1 h
    assert wanted_changes(ws, rules) == []


async def test_the_project_budget_example_converges_a_fixed_budget_from_outside(
    prefix: str, redis: Redis
) -> None:
    ws = seed_workspace(entries=600, seed=7, project_budgets=True)
    project = next(p for p in ws.projects.values() if p["name"] == "Nordlicht Webshop")
    mine = [e for e in ws.entries.values() if e.get("projectId") == project["id"]]
    settings = make_settings(prefix, PROJECT, reconcile_interval_seconds=0)
    async with local_stack(settings, ws) as stack:
        person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
        events = [
            envelope("timetracking_updated", e, triggered_by=person, changes=None) for e in mine
        ]
        assert set(await post_events(stack.web_url, events)) == {202}
        await quiet(redis, prefix, stack.sandbox)
        rules = resolved_rules(str(PROJECT), stack.sandbox)
    used, unbillable = 0, 0
    for entry in in_order(mine):
        if not entry.get("duration") or entry["isBilled"]:
            used += entry["duration"] if entry["isBilled"] and entry["isBillable"] else 0
            continue
        if used + entry["duration"] > project["timeBudget"]:
            assert entry["isBillable"] is False, entry["id"]
            unbillable += 1
        elif entry["isBillable"]:
            used += entry["duration"]  # an unbillable entry does not count (no deduction)
    assert unbillable > 0
    ids = {e["id"] for e in mine}
    assert [c for c in wanted_changes(ws, rules) if c.entry_id in ids] == []
