"""`awork-billing close`: a company's month previewed, committed, exported, shown and reopened —
against the awork sandbox, with a real Redis, exactly as an operator runs it."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.sandbox import SandboxState, create_sandbox, running, seed_workspace
from tests.support.cli import Outcome, cli, run, use_env
from tests.support.closes import (
    CLOSE_RULES,
    COMPANY,
    FLAT_RATES,
    MONTH,
    BreakableWrites,
    entries_of,
    expected_close,
    ids,
    make_running,
    minutes,
    snapshot_of,
    start_at,
)
from tests.support.pipeline import resolved_rules
from tests.support.records import audit_rows
from workers.close.lines import COLUMNS
from workers.rules import RuleSet, plan

PREVIEW = ["close", "preview", "--company", COMPANY, "--period", MONTH]


@dataclass
class Awork:
    url: str
    state: SandboxState
    rules: RuleSet
    out: Path
    breaker: BreakableWrites

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        return self.state.workspace.entries

    def expected(self, **kw: str) -> set[str]:
        return expected_close(self.state.workspace, self.rules, **kw)

    def calls(self, method: str, template: str) -> int:
        return self.state.count(method, template)


@pytest.fixture
async def awork(
    monkeypatch: pytest.MonkeyPatch, prefix: str, tmp_path: Path
) -> AsyncIterator[Awork]:
    """A sandbox of 300 entries (September to November 2026), the CLI pointed at it."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(CLOSE_RULES)
    (tmp_path / "rates.yaml").write_text(FLAT_RATES)
    sandbox = create_sandbox(seed_workspace(entries=300, seed=8))
    state: SandboxState = sandbox.state.sandbox
    breaker = BreakableWrites(sandbox, state)
    async with running(breaker) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url, USER="tester")
        rules = resolved_rules(str(rules_file), state)
        yield Awork(url, state, rules, tmp_path / "out", breaker)


async def preview(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    outcome = await cli(capsys, *PREVIEW, "--json", *argv)
    assert outcome.code == 0, outcome.err
    data: dict[str, Any] = outcome.json()
    return data


async def commit(
    capsys: pytest.CaptureFixture[str], awork: Awork, close_id: str, ref: str = "2026-10-NL"
) -> Outcome:
    return await cli(
        capsys, "close", "commit", close_id, "--reference", ref, "--out", str(awork.out), "--json"
    )


async def test_a_close_bills_exactly_the_company_month_and_nothing_else(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    october = entries_of(awork.state.workspace)
    timer = next(e for e in october if e["isBillable"] and not e["isBilled"])
    make_running(timer)  # a running timer in the month: never closed
    expected = awork.expected()
    assert len(expected) >= 10
    assert any(not e["isBillable"] for e in october), "the month should have unbillable entries"
    before = snapshot_of(awork.state.workspace)
    data = await preview(capsys)
    assert set(data) == {
        "close_id",
        "scope",
        "period",
        "entries",
        "totals",
        "anomalies",
        "pending_rule_changes",
    }
    assert ids(data["entries"]) == expected
    assert {"id": timer["id"], "reason": "running_timer"} in data["anomalies"]
    assert data["period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    assert data["scope"]["company"]["name"] == COMPANY
    assert awork.calls("POST", "/timeentries/batch/{operation}") == 0  # preview is read-only
    outcome = await commit(capsys, awork, data["close_id"])
    assert outcome.code == 0, outcome.err
    result = outcome.json()
    assert set(result) == {"reference", "close_id", "billed", "excluded", "files", "totals"}
    assert set(result["billed"]) == expected
    assert result["excluded"] == []
    for entry_id, entry in awork.entries.items():
        if entry_id in expected:
            assert entry["isBilled"] is True
            assert [c.attribute for c in _wanted(awork, entry)] == []  # the rules' changes too
        else:  # other companies and months, billed, unbillable, running timers
            assert entry == before[entry_id]
    rows = await audit_rows(redis, prefix)
    billed_rows = [r for r in rows if r["attribute"] == "billed"]
    assert ids(billed_rows, "entry") == expected
    assert {(r["rule"], r["trigger"], r["outcome"]) for r in rows} <= {
        (r.name, "close 2026-10-NL", "applied") for r in awork.rules.rules
    } | {("close", "close 2026-10-NL", "applied")}
    closed = [k async for k in redis.scan_iter(match=f"{prefix}:closed:*")]
    assert len(closed) == len(expected)


def _csv(path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"), newline="")))


def _wanted(awork: Awork, entry: dict[str, Any]) -> list[Any]:
    return plan(entry, awork.rules)


async def test_the_files_hold_the_entries_and_their_sums(
    capsys: pytest.CaptureFixture[str], awork: Awork, tmp_path: Path
) -> None:
    expected = awork.expected()
    data = await preview(capsys, "--rates", str(tmp_path / "rates.yaml"))
    outcome = await commit(capsys, awork, data["close_id"])
    assert outcome.code == 0, outcome.err
    files = outcome.json()["files"]
    assert [Path(f).name for f in files] == [
        "2026-10-NL-entries.csv",
        "2026-10-NL-summary.csv",
        "2026-10-NL.json",
    ]
    entries = _csv(files[0])
    summary = _csv(files[1])
    assert list(entries[0]) == [*COLUMNS]
    assert {r["entry_id"] for r in entries} == expected
    seconds = {i: awork.entries[i]["duration"] for i in expected}  # the sandbox's own figures
    want_minutes = {i: minutes(s) for i, s in seconds.items()}
    want_amount = {i: (m * 100 / 60).quantize(Decimal("0.01")) for i, m in want_minutes.items()}
    for row in entries:
        assert int(row["seconds"]) == seconds[row["entry_id"]]
        assert Decimal(row["billed_minutes"]) == want_minutes[row["entry_id"]]
        assert (row["rate"], row["surcharge"], row["currency"]) == ("100", "1", "EUR")
        assert Decimal(row["amount"]) == want_amount[row["entry_id"]]
        assert row["date"][:7] == MONTH
        assert row["company"] == COMPANY
    total = summary[-1]
    assert (total["company"], total["project"], total["type_of_work"]) == ("TOTAL", "", "")
    assert int(total["entries"]) == len(expected)
    assert int(total["seconds"]) == sum(seconds.values())
    assert Decimal(total["billed_minutes"]) == sum(want_minutes.values())
    assert Decimal(total["amount"]) == sum(want_amount.values())
    groups = summary[:-1]
    assert sum(int(g["entries"]) for g in groups) == len(expected)
    assert sum(Decimal(g["amount"]) for g in groups) == Decimal(total["amount"])
    document = json.loads(Path(files[2]).read_text())
    assert document["reference"] == "2026-10-NL"
    assert document["totals"]["amount"] == total["amount"]
    assert {e["entry_id"] for e in document["entries"]} == expected
    assert all(
        e["version"] == awork.entries[e["entry_id"]]["resourceVersion"] for e in document["entries"]
    )


async def test_a_second_commit_writes_nothing(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    data = await preview(capsys)
    first = await commit(capsys, awork, data["close_id"])
    assert first.code == 0, first.err
    audit_before = len(await audit_rows(redis, prefix))
    awork.state.reset_calls()
    again = await commit(capsys, awork, data["close_id"])
    assert again.code == 0, again.err
    assert again.json() == first.json()
    assert len(awork.state.calls) == 0
    assert len(await audit_rows(redis, prefix)) == audit_before
    text = await cli(capsys, "close", "commit", data["close_id"], "--reference", "2026-10-NL")
    assert text.code == 0
    assert "was committed at" in text.out
    assert "Nothing was written now." in text.out


async def test_an_entry_edited_between_preview_and_commit_is_left_out(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    expected = awork.expected()
    data = await preview(capsys)
    edited = sorted(ids(data["entries"]))[0]
    awork.state.workspace.update_entry(
        edited, {"note": "changed meanwhile"}, by=awork.state.workspace.api_user
    )
    outcome = await commit(capsys, awork, data["close_id"])
    assert outcome.code == 0, outcome.err
    result = outcome.json()
    assert result["excluded"] == [{"id": edited, "reason": "changed_since_preview"}]
    assert edited not in result["billed"]
    assert awork.entries[edited]["isBilled"] is False
    assert set(result["billed"]) == expected - {edited}


async def test_an_entry_at_half_past_midnight_on_the_first_belongs_to_that_month(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    """00:30 on 1 November in Berlin is 23:30 UTC on 31 October: November's, not October's."""
    entry = next(
        e
        for e in entries_of(awork.state.workspace)
        if e["isBillable"] and not e["isBilled"] and e["project"]["name"] == "Nordlicht Webshop"
    )
    start_at(entry, "2026-11-01", "00:30:00", "2026-10-31", "23:30:00")
    october = await preview(capsys)
    november = await preview(capsys, "--period", "2026-11")
    assert entry["id"] not in ids(october["entries"])
    assert entry["id"] in ids(november["entries"])
    assert next(e for e in november["entries"] if e["id"] == entry["id"])["date"] == "2026-11-01"


async def test_anomalies_are_held_back_unless_included(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    expected = sorted(awork.expected())
    awork.entries[expected[0]]["note"] = "  "
    awork.entries[expected[1]]["duration"] = 11 * 3600
    held = await preview(capsys)
    assert {"id": expected[0], "reason": "no_note"} in held["anomalies"]
    assert {"id": expected[1], "reason": "over_10h"} in held["anomalies"]
    assert not {expected[0], expected[1]} & ids(held["entries"])
    included = await preview(capsys, "--include-anomalies")
    assert {expected[0], expected[1]} <= ids(included["entries"])
    text = await cli(capsys, *PREVIEW, "--samples", "1")
    assert "Anomalies: no_note 1, over_10h 1 — held back" in text.out


async def test_refused_entries_are_left_out_and_reported(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    data = await preview(capsys)
    refused = sorted(ids(data["entries"]))[0]
    awork.state.workspace.unauthorized_ids.add(refused)
    outcome = await commit(capsys, awork, data["close_id"])
    assert outcome.code == 0, outcome.err
    result = outcome.json()
    assert result["excluded"] == [{"id": refused, "reason": "unauthorized"}]
    assert refused not in result["billed"]
    assert result["totals"]["entries"] == len(result["billed"])


async def test_a_commit_cut_off_halfway_is_finished_by_running_it_again(
    capsys: pytest.CaptureFixture[str],
    awork: Awork,
    redis: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWORK_BULK_CHUNK_SIZE", "5")
    data = await preview(capsys)
    expected = ids(data["entries"])
    awork.breaker.broken_after = 1  # the rules' changes and one chunk of billing get through
    broken = await commit(capsys, awork, data["close_id"])
    assert broken.code == 1
    assert "awork answered 500" in broken.error
    billed_now = {i for i in expected if awork.entries[i]["isBilled"]}
    assert 0 < len(billed_now) < len(expected)
    awork.breaker.broken_after = None
    finished = await commit(capsys, awork, data["close_id"])
    assert finished.code == 0, finished.err
    assert set(finished.json()["billed"]) == expected
    assert all(awork.entries[i]["isBilled"] for i in expected)
    rows = [r for r in await audit_rows(redis, prefix) if r["attribute"] == "billed"]
    assert sorted(r["entry"] for r in rows) == sorted(expected)  # each written (audited) once
    assert all(Path(f).exists() for f in finished.json()["files"])


async def test_show_lists_totals_entries_and_drift(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    data = await preview(capsys)
    assert (await commit(capsys, awork, data["close_id"])).code == 0
    longer, gone = sorted(ids(data["entries"]))[:2]
    ws = awork.state.workspace
    ws.update_entry(longer, {"duration": ws.entries[longer]["duration"] + 900}, by=ws.api_user)
    del ws.entries[gone]
    outcome = await cli(capsys, "close", "show", "2026-10-NL", "--json")
    assert outcome.code == 0, outcome.err
    shown = outcome.json()
    assert set(shown) == {"reference", "period", "scope", "entries", "totals", "reopened", "drift"}
    assert shown["reopened"] is False
    assert len(shown["entries"]) == len(data["entries"])
    drift = {d["id"]: d for d in shown["drift"]}
    assert set(drift) == {longer, gone}
    assert drift[gone] == {
        "id": gone,
        "change": "deleted",
        "closed_seconds": next(e["seconds"] for e in data["entries"] if e["id"] == gone),
        "current_seconds": None,
    }
    assert drift[longer]["change"] == "duration"
    assert drift[longer]["current_seconds"] == drift[longer]["closed_seconds"] + 900
    text = await cli(capsys, "close", "show", "2026-10-NL")
    assert "Drift since the close: 2 entries changed or deleted" in text.out
    assert any(line.startswith("TOTAL ") for line in text.out.splitlines())
    listed = await cli(capsys, "close", "list", "--json")
    (summary,) = listed.json()["closes"]
    assert (summary["reference"], summary["status"]) == ("2026-10-NL", "committed")


async def test_reopen_restores_the_previous_state(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    before = snapshot_of(awork.state.workspace)
    data = await preview(capsys)
    assert (await commit(capsys, awork, data["close_id"])).code == 0
    outcome = await cli(capsys, "close", "reopen", "2026-10-NL", "--json")
    assert outcome.code == 0, outcome.err
    assert set(outcome.json()["unbilled"]) == ids(data["entries"])
    for entry_id, entry in awork.entries.items():
        assert entry["isBilled"] == before[entry_id]["isBilled"]
    assert not [k async for k in redis.scan_iter(match=f"{prefix}:closed:*")]
    rows = await audit_rows(redis, prefix)
    unbilled = [r for r in rows if r["trigger"] == "reopen 2026-10-NL by tester"]
    assert ids(unbilled, "entry") == ids(data["entries"])
    assert {(r["attribute"], r["old"], r["new"]) for r in unbilled} == {("billed", "true", "false")}
    shown = await cli(capsys, "close", "show", "2026-10-NL", "--json")
    assert shown.json()["reopened"] is True
    again = await cli(capsys, "close", "reopen", "2026-10-NL")
    assert again.code == 0
    assert "nothing to do" in again.out


async def test_reopen_needs_an_admin_key(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str
) -> None:
    data = await preview(capsys)
    assert (await commit(capsys, awork, data["close_id"])).code == 0
    awork.state.workspace.api_user_is_admin = False
    outcome = await cli(capsys, "close", "reopen", "2026-10-NL")
    assert outcome.code == 1
    assert "only admins may un-bill" in outcome.error
    assert all(awork.entries[i]["isBilled"] for i in ids(data["entries"]))
    closed = [k async for k in redis.scan_iter(match=f"{prefix}:closed:*")]
    assert len(closed) == len(data["entries"])  # still billed, still guarded
    record = json.loads(await redis.get(Keys(prefix).close_record("2026-10-NL")) or "{}")
    assert record["status"] == "committed"


async def test_a_reference_is_used_once(capsys: pytest.CaptureFixture[str], awork: Awork) -> None:
    first = await preview(capsys)
    assert (await commit(capsys, awork, first["close_id"])).code == 0
    second = await preview(capsys, "--period", "2026-09")
    reused = await commit(capsys, awork, second["close_id"])
    assert reused.code == 2
    assert reused.error == (
        f"awork-billing: reference 2026-10-NL is already used (by close {first['close_id']})"
    )
    other = await commit(capsys, awork, first["close_id"], ref="ANOTHER")
    assert other.code == 2
    assert (
        other.error
        == f"awork-billing: close {first['close_id']} is already committed as 2026-10-NL"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["close", "preview", "--company", "X", "--period", "2026-13"],
            "awork-billing close preview: argument --period: invalid month '2026-13' "
            "(expected YYYY-MM) (see awork-billing close preview --help)",
        ),
        (
            ["close", "preview", "--company", "X"],
            "awork-billing: --period (or --from and --to) needed: which days to close "
            "(local dates)",
        ),
        (
            ["close", "preview", "--company", "X", "--period", "2026-10", "--from", "2026-10-01"],
            "awork-billing: give either --period or --from and --to, not both",
        ),
        (
            ["close", "preview", "--company", "X", "--from", "2026-10-31", "--to", "2026-10-01"],
            "awork-billing: --from 2026-10-31 is after --to 2026-10-01",
        ),
        (
            ["close", "preview", "--period", "2026-10"],
            "awork-billing close preview: one of the arguments --company --project is required "
            "(see awork-billing close preview --help)",
        ),
        (
            ["close", "commit", "nope", "--reference", "R"],
            "awork-billing close commit: argument CLOSE_ID: 'nope' is not a close id "
            "(12 hex digits) (see awork-billing close commit --help)",
        ),
        (
            ["close", "commit", "0123456789ab", "--reference", "a/b"],
            "awork-billing close commit: argument --reference: invalid reference 'a/b': 1 to 64 "
            "letters, digits, '.', '_' or '-', starting with a letter or digit (it names the "
            "files) (see awork-billing close commit --help)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    prefix: str,
    rules_file: Path,
    argv: list[str],
    error: str,
) -> None:
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file)
    outcome = run(capsys, *argv)
    assert (outcome.code, outcome.error) == (2, error)


async def test_unknown_close_ids_and_references_are_exit_2(
    capsys: pytest.CaptureFixture[str], awork: Awork, tmp_path: Path
) -> None:
    unknown = await commit(capsys, awork, "0123456789ab")
    assert unknown.code == 2
    assert unknown.error.startswith("awork-billing: unknown close id 0123456789ab")
    shown = await cli(capsys, "close", "show", "NOPE")
    assert (shown.code, shown.error) == (
        2,
        "awork-billing: unknown close reference NOPE (see awork-billing close list)",
    )
    broken = tmp_path / "broken-rates.yaml"
    broken.write_text("version: 1\ncurrency: EUR\nrates:\n  - when: {}\n    hourly: lots\n")
    bad = await cli(capsys, *PREVIEW, "--rates", str(broken))
    assert (bad.code, bad.error) == (
        2,
        f"awork-billing: {broken}:5: rate 1: 'hourly' must be a number of at least 0, got 'lots'",
    )


async def test_preview_text_names_the_close_and_its_totals(
    capsys: pytest.CaptureFixture[str], awork: Awork, tmp_path: Path
) -> None:
    outcome = await cli(capsys, *PREVIEW, "--rates", str(tmp_path / "rates.yaml"), "--by-user")
    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    assert lines[0].startswith(
        f"Close preview 2026-10 (2026-10-01..2026-10-31), company {COMPANY}: close_id "
    )
    assert any(line.startswith("TOTAL ") for line in lines)
    assert any(line.split()[:2] == ["user", "entries"] for line in lines)
    assert lines[-1].startswith("Next: awork-billing close commit ")


async def test_attributes_people_set_by_hand_stay_theirs_in_the_preview(
    capsys: pytest.CaptureFixture[str], awork: Awork, redis: Redis, prefix: str, tmp_path: Path
) -> None:
    """With `respect_manual_changes`, the close counts what the workers will do: a billable
    flag a person set by hand is kept, so the rules' change is not pending and not written."""
    rules_file = Path(os.environ["RULES_FILE"])
    rules_file.write_text("respect_manual_changes: true\n" + CLOSE_RULES)
    unbillable = next(
        e
        for e in entries_of(awork.state.workspace)
        if not e["isBillable"] and e["project"]["name"] == "Nordlicht Webshop"
    )
    plain = await preview(capsys)
    assert unbillable["id"] in ids(plain["entries"])  # webshop-is-billable makes it billable
    await redis.sadd(Keys(prefix).manual(unbillable["id"]), "billable")  # type: ignore[misc]
    kept = await preview(capsys)
    assert unbillable["id"] not in ids(kept["entries"])
    assert unbillable["id"] not in ids(kept["pending_rule_changes"])


@pytest.mark.parametrize("action", [[], ["preview"], ["commit"], ["list"], ["show"], ["reopen"]])
def test_every_close_action_has_help(capsys: pytest.CaptureFixture[str], action: list[str]) -> None:
    outcome = run(capsys, "close", *action, "--help")
    assert outcome.code == 0
    assert outcome.out.startswith(f"usage: awork-billing {' '.join(['close', *action])}")


def test_check_rules_validates_a_rates_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[3] / "deploy" / "rates" / "example-rates.yaml"
    valid = run(capsys, "check-rules", str(example))
    assert valid.code == 0, valid.err
    assert valid.out == (
        f"{example}: valid rates (version 1, EUR: 4 rates, 2 rounding rules, 2 surcharges)\n"
    )
    broken = tmp_path / "rates.yaml"
    broken.write_text(
        "version: 1\ncurrency: EUR\nsurcharges:\n  - when: {weekday: funday}\n    factor: 2\n"
    )
    invalid = run(capsys, "check-rules", str(broken))
    assert (invalid.code, invalid.error) == (
        2,
        f"awork-billing: {broken}:4: surcharge 1: weekday 'funday' is not one of mon, tue, wed, "
        "thu, fri, sat, sun",
    )
    no_currency = tmp_path / "no-currency.yaml"
    no_currency.write_text("version: 1\nrates:\n  - when: {}\n    hourly: 100\n")
    missing = run(capsys, "check-rules", str(no_currency))
    assert (missing.code, missing.error) == (  # read as the rates file it is, not as rules
        2,
        f"awork-billing: {no_currency}: missing 'currency' (an ISO 4217 code such as EUR)",
    )


async def test_a_close_of_projects_over_chosen_days(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    ws = awork.state.workspace
    webshop, booking = (
        next(p for p in ws.projects.values() if p["name"] == name)["id"]
        for name in ("Nordlicht Webshop", "Alpenblick Booking App")
    )
    outcome = await cli(
        capsys,
        *["close", "preview", "--project", webshop.upper(), "--project", booking],
        *["--from", "2026-10-05", "--to", "2026-10-18", "--json"],
    )
    assert outcome.code == 0, outcome.err
    data = outcome.json()
    assert data["scope"] == {"projects": [webshop, booking]}
    assert data["period"] == {"from": "2026-10-05", "to": "2026-10-18"}
    chosen = {
        i
        for company in (COMPANY, "Alpenblick Hotels AG")
        for i in awork.expected(company=company)
        if ws.entries[i]["projectId"] in (webshop, booking)
        and "2026-10-05" <= ws.entries[i]["startDateLocal"][:10] <= "2026-10-18"
    }
    assert chosen
    assert ids(data["entries"]) == chosen
