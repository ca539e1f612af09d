"""The example rules in deploy/rules/: each passes `check-rules` and simulates against the
sandbox's agency workspace, doing what its comments promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import create_sandbox, running, seed_workspace
from tests.deploy.manifests import DEPLOY
from tests.support.cli import cli, run, use_env

EXAMPLES = sorted((DEPLOY / "rules").glob("example-*.yaml"))


def test_there_are_four_to_seven_examples() -> None:
    assert 4 <= len(EXAMPLES) <= 7


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_passes_check_rules(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    outcome = run(capsys, "check-rules", str(path))
    assert outcome.code == 0, outcome.err
    assert outcome.out.startswith(f"{path}: valid (version 1, ")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_commented(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# Example policy: ")
    assert f"awork-billing check-rules deploy/rules/{path.name}" in path.read_text()
    assert sum(line.lstrip().startswith("#") for line in lines) >= 8


# What each example does to the seeded agency: rule -> the attributes it must change (or decide)
PROMISES: dict[str, dict[str, dict[str, int]]] = {
    "example-internal-work": {
        "own-company-is-unbillable": {"billable": 1},
        "no-project-is-unbillable": {},
    },
    "example-retainers": {"retainers-are-billed": {"billable": 1, "billed": 1}},
    "example-type-of-work-from-task": {
        "meeting-tasks-are-meetings": {"type_of_work": 1},
        "workshop-tasks-are-consulting": {"type_of_work": 1},
        "design-tasks-are-design": {"type_of_work": 1},
    },
    "example-meetings-by-note": {"calls-are-meetings": {"type_of_work": 1}},
    "example-non-billable-tags": {"internal-clients-are-unbillable": {}},
    # the budget examples (issue 13) need the seed's opt-in budget data: the retainer client
    # (it brings the "Overage" type of work) and the fixed-price projects' time budgets
    "example-retainer-overage": {"retainer-hours-are-billed": {"billable": 1, "billed": 1}},
    "example-project-budget": {"over-budget-is-unbillable": {"billable": 1}},
}


async def test_examples_simulate_against_the_sandbox(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    tmp_path: Path,
) -> None:
    workspace = seed_workspace(entries=600, seed=7, retainer_client=True, project_budgets=True)
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps(list(workspace.entries.values())))
    app = create_sandbox(workspace)
    async with running(app) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=EXAMPLES[0], awork_url=url)
        reports: dict[str, Any] = {}
        for path in EXAMPLES:
            outcome = await cli(
                capsys, "simulate", "--rules", str(path), "--entries", str(entries), "--json"
            )
            assert outcome.code == 0, (path.name, outcome.err)
            reports[path.stem] = outcome.json()
    assert app.state.sandbox.count("POST") == 0
    assert set(reports) == set(PROMISES)
    for stem, promises in PROMISES.items():
        rules = {r["name"]: r for r in reports[stem]["rules"]}
        for name, changes in promises.items():
            assert rules[name]["decides"] > 0, (stem, name)
            for attribute, least in changes.items():
                assert rules[name]["changes"][attribute] >= least, (stem, name, attribute)
        assert reports[stem]["rule_errors"] == 0


def test_meeting_notes_pattern_keeps_lookalikes_out() -> None:
    from workers.rules import evaluate, load_rules

    rules = load_rules(DEPLOY / "rules" / "example-meetings-by-note.yaml")
    rules = rules.resolve_types({"Meeting": "3f98e277-4cbd-47ad-9c90-a9587403e430"})
    base = {"id": "e", "duration": 60, "isBilled": False, "typeOfWorkId": None}

    def decided(note: str, project_type: str = "Fixed price") -> bool:
        entry = {**base, "note": note, "project": {"projectType": {"name": project_type}}}
        return bool(evaluate(entry, rules).decisions)

    assert decided("Strategy CALL with client")
    assert decided("Jour fixe")
    assert not decided("Refactored callback handler")
    assert not decided("Recall of old laptops")
    assert not decided("Team meeting", project_type="Internal")
