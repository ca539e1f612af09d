"""`awork-billing dead-letters replay` puts entries back as they were first seen."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.contract import Keys, PendingRecord
from tests.support.cli import cli, use_env
from workers.apply import DeadLetter, DeadLetters

ENTRY = "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10"


async def test_replay_keeps_when_the_entry_was_first_seen(
    redis: Redis,
    prefix: str,
    rules_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = DeadLetters(redis, Keys(prefix).dead)
    await dead.add([DeadLetter(ENTRY, "stale", "old", first_seen_ms=1_764_000_000_000)])
    await dead.add([DeadLetter(ENTRY, "rejected", "older", first_seen_ms=1_763_000_000_000)])
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file)
    outcome = await cli(capsys, "dead-letters", "replay", "--all")
    assert outcome.code == 0, outcome.err
    pending = await redis.hgetall(Keys(prefix).pending)  # type: ignore[misc]
    record = PendingRecord.from_json(pending[ENTRY.encode()])
    assert (record.event, record.first_seen_ms) == ("replay", 1_763_000_000_000)


async def test_manual_locks_are_listed_and_lifted(
    redis: Redis,
    prefix: str,
    rules_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = "7a2e6f54-9b54-4e5c-8f80-1e7b9d2c3b21"
    keys = Keys(prefix)
    await redis.sadd(keys.manual(ENTRY), "billable", "type_of_work")  # type: ignore[misc]
    await redis.sadd(keys.manual(other), "billed")  # type: ignore[misc]
    use_env(monkeypatch, prefix=prefix, rules_file=rules_file)
    listed = await cli(capsys, "manual", "list", "--json")
    assert listed.code == 0, listed.err
    assert listed.json_lines() == [
        {"attributes": "billable,type_of_work", "entry": ENTRY},
        {"attributes": "billed", "entry": other},
    ]
    cleared = await cli(capsys, "manual", "clear", ENTRY)
    assert cleared.code == 0, cleared.err
    assert not await redis.exists(keys.manual(ENTRY))
    assert await redis.exists(keys.manual(other))
    assert "manual locks lifted on 1 entry; queued" in cleared.out
    assert await redis.hkeys(keys.pending) == [ENTRY.encode()]  # type: ignore[misc]
    assert (await cli(capsys, "manual", "clear")).code == 2  # ids or --all
    assert (await cli(capsys, "manual", "clear", "--all")).code == 0
    assert not await redis.exists(keys.manual(other))
