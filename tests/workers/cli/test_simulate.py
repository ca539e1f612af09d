"""`awork-billing simulate`: the rules' verdict on real entries, from awork or a file — and never
a write (counted at the sandbox)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from service.sandbox import SandboxState, create_sandbox, running, seed_workspace
from tests.support.cli import UNREACHABLE_REDIS, cli, run, use_env
from tests.support.pipeline import resolved_rules
from workers.rules import RuleSet, evaluate, load_rules, plan

BILLABLE_ONLY = """
version: 1
rules:
  - name: internal-work-is-unbillable
    when:
      project.company.name: "Our Agency GmbH"
    then:
      billable: false
  - name: client-work-is-billable
    when:
      project.company.name: {exists: true}
    then:
      billable: true
"""


def expected(entries: list[dict[str, Any]], rules: RuleSet) -> dict[tuple[str, str], int]:
    return dict(Counter((c.rule, c.attribute) for e in entries for c in plan(e, rules)))


def found(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(r["name"], a): n for r in report["rules"] for a, n in r["changes"].items() if n}


def dump(tmp_path: Path, entries: list[dict[str, Any]], *, wrap: bool = False) -> Path:
    path = tmp_path / "entries.json"
    path.write_text(json.dumps({"entries": entries} if wrap else entries))
    return path


async def test_simulate_reads_a_period_from_awork_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
    sandbox: tuple[str, SandboxState],
) -> None:
    url, state = sandbox
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url)
    rules = resolved_rules(str(rules_file), state)
    entries = [
        e
        for e in state.workspace.entries.values()
        if "2026-10-01" <= e["startDateUtc"][:10] <= "2026-10-31"
    ]
    wanted = expected(entries, rules)
    before = copy.deepcopy(state.workspace.entries)
    outcome = await cli(
        capsys,
        "simulate",
        "--rules",
        str(rules_file),
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--json",
    )
    assert outcome.code == 0, outcome.err
    report = outcome.json()
    assert (report["source"], report["entries"]) == ("awork", len(entries))
    assert found(report) == wanted
    assert report["changes"] == sum(wanted.values()) > 0
    assert len(report["samples"]) == 10
    assert {s["new_label"] for s in report["samples"] if s["attribute"] == "type_of_work"} <= {
        "Meeting"
    }
    assert state.count("POST") == 0
    assert {c.method for c in state.calls} == {"GET"}
    assert state.workspace.entries == before
    (read,) = [c for c in state.calls if c.template == "/timeentries"]
    query = parse_qs(read.query)
    assert query["filterby"] == [
        "startDateUtc ge datetime'2026-10-01T00:00:00' and startDateUtc le "
        "datetime'2026-10-31T23:59:59'"
    ]
    assert query["pageSize"] == ["1000"]


async def test_simulate_pages_through_awork_and_prints_tables(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
) -> None:
    app = create_sandbox(seed_workspace(entries=2100, seed=3))
    state: SandboxState = app.state.sandbox
    async with running(app) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url)
        outcome = await cli(
            capsys,
            "simulate",
            "--rules",
            str(rules_file),
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--samples",
            "3",
        )
    assert outcome.code == 0, outcome.err
    assert outcome.err == ""  # no progress bar: stderr is not a terminal
    pages = [parse_qs(c.query)["page"] for c in state.calls if c.template == "/timeentries"]
    assert pages == [["1"], ["2"], ["3"]]
    assert state.count("POST") == 0
    lines = outcome.out.splitlines()
    assert "on 2100 entries from awork, 2026-01-01..2026-12-31, all projects." in lines[0]
    assert "Read-only: nothing was written." in lines[0]
    assert lines[2].split() == ["rule", "decides", "billable", "billed", "type_of_work"]
    assert [line.split()[0] for line in lines[3:7]] == [
        "internal-work-is-unbillable",
        "retainers-are-billed",
        "calls-are-meetings",
        "client-work-is-billable",
    ]
    samples = lines[lines.index(next(x for x in lines if x.startswith("Sample changes"))) :]
    assert samples[1].split() == ["entry", "date", "project", "rule", "attribute", "change"]
    assert len(samples) == 5
    assert all(" -> " in line for line in samples[2:])


def test_simulate_a_file_needs_neither_awork_nor_redis(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    tmp_path: Path,
) -> None:
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(BILLABLE_ONLY)
    use_env(
        monkeypatch,
        prefix=prefix,
        rules_file=rules_path,
        REDIS_URL=UNREACHABLE_REDIS,
        AWORK_API_TOKEN=None,
    )
    entries = list(seed_workspace(entries=80, seed=4).entries.values())
    for wrap in (False, True):
        path = dump(tmp_path, entries, wrap=wrap)
        outcome = run(
            capsys,
            "simulate",
            "--rules",
            str(rules_path),
            "--entries",
            str(path),
            "--json",
            "--samples",
            "0",
        )
        assert outcome.code == 0, outcome.err
        report = outcome.json()
        assert (report["source"], report["entries"], report["writes"]) == ("file", 80, 0)
        assert found(report) == expected(entries, load_rules(rules_path))
        assert report["samples"] == []
        skipped = Counter(evaluate(e, load_rules(rules_path)).skipped for e in entries)
        assert report["skipped"] == {k: n for k, n in skipped.items() if k}
        assert report["skipped"]["billed"] > 0


async def test_simulate_a_file_resolves_type_names_through_awork(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
    sandbox: tuple[str, SandboxState],
    tmp_path: Path,
) -> None:
    url, state = sandbox
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url)
    entries = list(state.workspace.entries.values())
    path = dump(tmp_path, entries)
    state.reset_calls()
    outcome = await cli(
        capsys,
        "simulate",
        "--rules",
        str(rules_file),
        "--entries",
        str(path),
        "--json",
        "--samples",
        "500",
    )
    assert outcome.code == 0, outcome.err
    report = outcome.json()
    assert found(report) == expected(entries, resolved_rules(str(rules_file), state))
    meetings = [s for s in report["samples"] if s["attribute"] == "type_of_work"]
    assert meetings
    assert {s["new_label"] for s in meetings} == {"Meeting"}
    assert "Meeting" not in {s["old_label"] for s in meetings}
    assert {(c.method, c.template) for c in state.calls} == {("GET", "/me"), ("GET", "/typeofwork")}


async def test_simulate_a_file_says_why_it_needs_awork(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
    tmp_path: Path,
) -> None:
    path = dump(tmp_path, list(seed_workspace(entries=5).entries.values()))
    argv = ["simulate", "--rules", str(rules_file), "--entries", str(path)]
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file)
    unreachable = await cli(capsys, *argv)
    assert unreachable.code == 1
    assert "cannot reach awork" in unreachable.error
    assert unreachable.error.endswith("awork is needed to resolve type-of-work names (Meeting)")
    monkeypatch.delenv("AWORK_API_TOKEN")
    no_token = await cli(capsys, *argv)
    assert no_token.code == 2
    assert no_token.error.startswith("awork-billing: missing setting AWORK_API_TOKEN")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"items": []}', "expected a JSON list of time entries"),
        ("[1, 2]", "expected a JSON list of time entries"),
    ],
)
def test_a_bad_entries_file_exits_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
    tmp_path: Path,
    content: str | None,
    problem: str,
) -> None:
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file)
    path = tmp_path / "entries.json"
    if content is not None:
        path.write_text(content)
    outcome = run(capsys, "simulate", "--rules", str(rules_file), "--entries", str(path))
    assert outcome.code == 2
    assert outcome.error.startswith("awork-billing: --entries: ")
    assert problem in outcome.error


def test_a_bad_rules_file_exits_2_with_its_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    tmp_path: Path,
) -> None:
    rules_path = tmp_path / "bad.yaml"
    rules_path.write_text("version: 1\nrules:\n  - name: x\n    when: {nope: 1}\n    then: {}\n")
    use_env(monkeypatch, prefix=prefix, rules_file=rules_path)
    path = dump(tmp_path, [])
    outcome = run(capsys, "simulate", "--rules", str(rules_path), "--entries", str(path))
    assert outcome.code == 2
    assert outcome.error.startswith(f"awork-billing: {rules_path}:4: rule 'x':")
