"""Running `awork-billing` commands in tests: the environment they read, their exit code and
output.

Commands read their settings from the environment and call `asyncio.run`, so an async test runs
them in a thread (`await cli(capsys, ...)`) while the sandbox keeps serving in the test's loop.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.contract.settings import Settings
from tests.support.config import REDIS_URL, SANDBOX_TOKEN, WEBHOOK_TOKEN
from workers.cli import main

UNREACHABLE_AWORK = "http://127.0.0.1:9"
UNREACHABLE_REDIS = "redis://127.0.0.1:9/0"


@dataclass(frozen=True)
class Outcome:
    """What one command did: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    @property
    def error(self) -> str:
        """The one line on stderr (fails when there is not exactly one)."""
        lines = self.err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
        return lines[0]


def use_env(
    monkeypatch: pytest.MonkeyPatch,
    *,
    prefix: str,
    rules_file: Path | str,
    awork_url: str = UNREACHABLE_AWORK,
    **extra: str | None,
) -> None:
    """Set exactly the environment a command should see: every setting cleared, then these
    (`extra`: more variables by name; None removes one)."""
    for name in [*Settings.model_fields, "public_url"]:
        monkeypatch.delenv(name.upper(), raising=False)
    values: dict[str, str | None] = {
        "AWORK_API_URL": awork_url,
        "AWORK_API_TOKEN": SANDBOX_TOKEN,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "RULES_FILE": str(rules_file),
        "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "AWORK_MAX_ATTEMPTS": "2",
        **extra,
    }
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Run a command in this thread (tests without a sandbox in their loop)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return Outcome(code, out, err)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Run a command in a thread, while this loop keeps serving the sandbox."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return Outcome(code, out, err)
