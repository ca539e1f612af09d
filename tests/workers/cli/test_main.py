"""The command line as operators use it: help, one-line errors with the right exit codes, the
audit log's filters (`--since`), and the progress bar's terminal-only drawing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from tests.support.cli import UNREACHABLE_AWORK, UNREACHABLE_REDIS, cli, run, use_env
from workers.apply import AuditLog
from workers.apply.audit import AuditEntry
from workers.cli import argtypes
from workers.cli.progress import Progress, page_note
from workers.cli.tables import table

ENTRY = "5d3c1c2e-7e0a-4a55-9d43-2f0a3f7b1c11"
OTHER = "9a1f5e0b-0c6d-4f1e-8b7a-3c2d1e0f9a8b"

COMMANDS = [
    ["simulate"],
    ["backfill"],
    ["audit"],
    ["dead-letters"],
    ["check-rules"],
    ["webhook"],
    ["webhook", "register"],
    ["webhook", "status"],
    ["webhook", "enable"],
    ["webhook", "list"],
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, prefix: str, rules_file: Path) -> None:
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    outcome = run(capsys, *command, "--help")
    assert outcome.code == 0
    assert outcome.out.startswith(f"usage: awork-billing {' '.join(command)}")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["backfill", "--from", "2026-13-01", "--to", "2026-10-31"], "argument --from"),
        (["backfill", "--from", "2026-10-01", "--to", "31.10.2026"], "argument --to"),
        (["backfill", "--from", "2026-10-01"], "--to"),
        (["backfill", "--from", "2026-10-31", "--to", "2026-10-01"], "--from 2026-10-31"),
        (
            ["backfill", "--from", "2026-10-01", "--to", "2026-10-31", "--project", "42"],
            "argument --project",
        ),
        (
            ["backfill", "--from", "2026-10-01", "--to", "2026-10-31", "--page-size", "5000"],
            "argument --page-size",
        ),
        (["audit", "--since", "yesterday"], "argument --since"),
        (["audit", "--since", "3x"], "argument --since"),
        (["audit", "--limit", "0"], "argument --limit"),
        (["audit", "--entry", "not-an-id"], "argument --entry"),
        (["simulate", "--rules", "r.yaml"], "--entries"),
        (
            [
                "simulate",
                "--rules",
                "r.yaml",
                "--entries",
                "e.json",
                "--from",
                "2026-10-01",
                "--to",
                "2026-10-02",
            ],
            "--entries",
        ),
        (["simulate", "--rules", "r.yaml", "--from", "2026-10-01"], "--to"),
        (
            ["simulate", "--rules", "r.yaml", "--samples", "-1", "--entries", "e.json"],
            "argument --samples",
        ),
        (["webhook", "status", "1234"], "argument ID"),
        (["webhook", "register", "--url", "ftp://example.com"], "argument --url"),
        (["webhook"], "ACTION"),
        (["no-such-command"], "COMMAND"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], env: None, argv: list[str], named: str
) -> None:
    outcome = run(capsys, *argv)
    assert outcome.code == 2
    assert named in outcome.error
    assert outcome.out == ""


@pytest.mark.parametrize(
    ("variable", "value"), [("REDIS_PREFIX", "has spaces"), ("LOG_LEVEL", "LOUD")]
)
def test_an_invalid_setting_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
    env: None,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    outcome = run(capsys, "audit")
    assert outcome.code == 2
    assert f"invalid setting {variable}" in outcome.error


def test_a_bad_port_is_the_serving_commands_error_only(
    capsys: pytest.CaptureFixture[str], env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "http")
    assert run(capsys, "check-rules", "deploy/rules/rules.yaml").code == 0
    for command in ("serve", "run"):
        outcome = run(capsys, command)
        assert outcome.code == 2
        assert "invalid port 'http' (from --port or PORT" in outcome.error


@pytest.mark.parametrize(
    "argv",
    [
        ["dead-letters", "list"],
        ["backfill", "--from", "2026-10-01", "--to", "2026-10-31"],
        ["webhook", "list"],
    ],
    ids=lambda argv: argv[0],
)
def test_redis_unreachable_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str],
    env: None,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.setenv("REDIS_URL", UNREACHABLE_REDIS.replace("//", "//:secret-pw@"))
    outcome = run(capsys, *argv)
    assert outcome.code == 1
    assert outcome.error.startswith("awork-billing: cannot reach Redis at 127.0.0.1:9/0")
    assert "secret-pw" not in outcome.err


def test_awork_unreachable_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], env: None
) -> None:
    outcome = run(capsys, "backfill", "--from", "2026-10-01", "--to", "2026-10-31")
    assert outcome.code == 1
    assert outcome.error.startswith(f"awork-billing: awork at {UNREACHABLE_AWORK}: ")
    assert "cannot reach awork" in outcome.error


def test_check_rules_counts_rules_in_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("version: 1\nrules:\n  - name: a\n    when: {}\n    then: {billable: true}\n")
    outcome = run(capsys, "check-rules", str(path))
    assert outcome.code == 0
    assert "1 rule: a" in outcome.out


async def _audit_rows(redis: Redis, prefix: str) -> None:
    now = datetime.now(UTC)

    def row(entry: str, rule: str, ago: timedelta) -> AuditEntry:
        at = (now - ago).strftime("%Y-%m-%dT%H:%M:%SZ")
        return AuditEntry(entry, rule, "billable", "false", "true", "applied", "t", "j", at=at)

    rows = [
        row(ENTRY, "old-rule", timedelta(days=3)),
        row(OTHER, "old-rule", timedelta(hours=5)),
        row(ENTRY, "new-rule", timedelta(hours=1)),
        row(OTHER, "new-rule", timedelta(minutes=5)),
    ]
    await AuditLog(redis, Keys(prefix).audit, 1000).record(rows)


async def test_audit_since_a_duration_or_a_moment(
    capsys: pytest.CaptureFixture[str], env: None, redis: Redis, prefix: str
) -> None:
    await _audit_rows(redis, prefix)
    recent = await cli(capsys, "audit", "--since", "2h", "--json")
    assert recent.code == 0
    assert [(r["entry"], r["rule"]) for r in recent.json_lines()] == [
        (OTHER, "new-rule"),
        (ENTRY, "new-rule"),
    ]
    day = await cli(capsys, "audit", "--since", "1d", "--entry", OTHER.upper(), "--json")
    assert [r["rule"] for r in day.json_lines()] == ["new-rule", "old-rule"]
    moment = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    since = await cli(capsys, "audit", "--since", moment, "--rule", "old-rule", "--json")
    assert [r["entry"] for r in since.json_lines()] == [OTHER]
    limited = await cli(capsys, "audit", "--limit", "1", "--json")
    assert len(limited.json_lines()) == 1
    text = await cli(capsys, "audit", "--since", "10m")
    assert text.code == 0
    assert text.out.splitlines()[0].split()[:3] == ["at", "entry", "rule"]
    assert len(text.out.splitlines()) == 2


async def test_audit_with_nothing_since(
    capsys: pytest.CaptureFixture[str], env: None, redis: Redis, prefix: str
) -> None:
    await _audit_rows(redis, prefix)
    outcome = await cli(capsys, "audit", "--since", "2099-01-01T00:00:00+01:00")
    assert (outcome.code, outcome.out) == (0, "(none)\n")


def test_since_reads_durations_and_moments() -> None:
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert argtypes.since("90m", now) == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert argtypes.since("1d2h", now) == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert argtypes.since("1w", now) == now - timedelta(weeks=1)
    assert argtypes.since("2026-11-02T09:00:00") == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert argtypes.since("2026-11-02T10:00:00+01:00") == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert argtypes.since("2026-11-02T09:00:00Z") == datetime(2026, 11, 2, 9, tzinfo=UTC)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only() -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress("backfill", total=2000, stream=stream)
        progress.update(1000, note="page 1/2")
        progress.update(2000, note="page 2/2")
        progress.close()
    assert pipe.getvalue() == ""
    drawn = terminal.getvalue()
    assert drawn.startswith("\rbackfill [")
    assert "50% 1000/2000 entries" in drawn
    assert "100% 2000/2000 entries page 2/2" in drawn
    assert drawn.endswith("\n")


def test_progress_without_a_total_counts() -> None:
    progress = Progress("simulate", stream=_Terminal())
    progress.update(1500)
    assert progress.render().startswith("simulate 1500 entries, ")


def test_page_note_and_table() -> None:
    assert page_note(2, 2500, 1000) == "page 2/3"
    assert page_note(2, None, 1000) == "page 2"
    lines = table([{"rule": "a", "n": 3}, {"rule": "bbbbbb", "n": 12}], ["rule", "n"])
    assert lines == ["rule     n", "a        3", "bbbbbb  12"]
