"""`simulate` and `backfill` understand budgets (issue 13): a budget is decided whole and in
order, also where its entries reach beyond the period asked for; `simulate` shows per budget
its seconds, the seconds used and the entries within and over it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.sandbox import SandboxState, create_sandbox, running
from tests.support.budgets import HOUR, RULES_MARKING_WITHIN, Retainer, over, retainer_client
from tests.support.cli import cli, use_env

HOURS = [2, 2, 2, 2, 2, 1, 1, 2]  # 14 h in a 10 h month, on November 2 to 9


@dataclass
class Month:
    retainer: Retainer
    state: SandboxState
    ids: list[str]
    rules: Path

    def writes(self) -> int:
        return sum(1 for c in self.state.calls if c.method == "POST")


@pytest.fixture
async def month(
    monkeypatch: pytest.MonkeyPatch, prefix: str, tmp_path: Path
) -> AsyncIterator[Month]:
    november = retainer_client(10, entries=30)
    design = next(t["id"] for t in november.ws.types_of_work.values() if t["name"] == "Design")
    ids = [
        str(november.add(f"2026-11-{day:02d}", "10:00", h, typeOfWorkId=design)["id"])
        for day, h in zip(range(2, 10), HOURS, strict=True)
    ]
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_MARKING_WITHIN)
    app = create_sandbox(november.ws)
    async with running(app) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules, awork_url=url, USER="tester")
        yield Month(november, app.state.sandbox, ids, rules)


async def test_simulate_shows_each_budget_with_its_entries_within_and_over(
    capsys: pytest.CaptureFixture[str], month: Month, tmp_path: Path
) -> None:
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps(list(month.retainer.ws.entries.values())))
    argv = ["simulate", "--rules", str(month.rules), "--entries", str(entries)]
    report = (await cli(capsys, *argv, "--json")).json()
    (budget,) = [b for b in report["budgets"] if b["kind"] == "retainer"]
    assert (budget["seconds"], budget["used_seconds"]) == (10 * HOUR, 14 * HOUR)
    assert budget["used_percent"] == 140.0
    assert (budget["within"], budget["over"]) == (month.ids[:5], month.ids[5:])
    assert budget["label"] == "retainer 2026-11"
    assert budget["project_name"] == "RET Seeblick Kliniken"
    rules = {r["name"]: r for r in report["rules"]}
    assert rules["over-is-overage"]["changes"] == {"type_of_work": 3}
    assert rules["within-is-development"]["changes"] == {"type_of_work": 5}
    text = (await cli(capsys, *argv)).out
    assert "Budgets (" in text
    assert "Over the retainer budget of RET Seeblick Kliniken 2026-11" in text
    assert month.ids[5] in text
    assert month.writes() == 0


async def test_simulate_from_awork_counts_the_entries_before_the_period(
    capsys: pytest.CaptureFixture[str], month: Month
) -> None:
    """Asked from November 7: the entries of November 2 to 6 (10 h) are read with the budget and
    count before the later ones, which are over — though only these are simulated."""
    argv = ["simulate", "--rules", str(month.rules), "--from", "2026-11-07", "--to", "2026-11-30"]
    report = (await cli(capsys, *argv, "--json")).json()
    mine = [
        e for e in month.retainer.ws.entries.values() if e["projectId"] == month.retainer.project_id
    ]
    assert len(mine) == 8
    rules = {r["name"]: r for r in report["rules"]}
    assert rules["over-is-overage"]["changes"] == {"type_of_work": 3}
    assert rules["within-is-development"]["decides"] == 0  # Nov 7: a Saturday, nothing within
    (budget,) = [b for b in report["budgets"] if b["kind"] == "retainer"]
    assert budget["over"] == month.ids[5:]
    assert month.writes() == 0


async def test_backfill_of_part_of_a_month_decides_the_whole_month(
    capsys: pytest.CaptureFixture[str], month: Month
) -> None:
    argv = ["backfill", "--from", "2026-11-07", "--to", "2026-11-30", "--json"]
    outcome = await cli(capsys, *argv)
    assert outcome.code == 0, outcome.err
    summary = outcome.json()
    assert over(month.retainer.ws, month.ids) == [False] * 5 + [True] * 3
    assert summary["outcomes"]["budgets"] >= 1
    assert summary["outcomes"]["budget_entries"] >= 5  # Nov 2-6, read with the budget
    assert summary["changed_entries"] == 8  # 3 in the period, 5 before it
    again = (await cli(capsys, *argv, "--restart")).json()
    assert again["changed_entries"] == 0


async def test_rules_may_read_a_projects_budget_figures(
    capsys: pytest.CaptureFixture[str], month: Month, tmp_path: Path
) -> None:
    month.retainer.project["deductNonBillableHours"] = True
    month.retainer.project["timeBudget"] = 30 * HOUR
    rules = tmp_path / "figures.yaml"
    rules.write_text("""
version: 1
rules:
  - name: budgeted-projects-deducting-everything
    when:
      project.timeBudget: {ge: 108000}
      project.deductNonBillableHours: true
      project.trackedDuration: {ge: 50400}
    then: {billed: true}
""")
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps(list(month.retainer.ws.entries.values())))
    argv = ["simulate", "--rules", str(rules), "--entries", str(entries), "--json"]
    report = (await cli(capsys, *argv)).json()
    (rule,) = report["rules"]
    assert rule["decides"] == 8  # the retainer client's entries, 14 h tracked
    assert report["budgets"] == []  # no rule reads `budget.*`: no budget is evaluated
