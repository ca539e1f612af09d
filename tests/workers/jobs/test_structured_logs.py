"""JSON log lines carry the identifiers an operator searches by (entry_id, rule, job_id …)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from service.sandbox import envelope, seed_workspace
from tests.support.config import make_settings
from tests.support.pipeline import pending_changes, post_events, quiet, resolved_rules
from workers.cli.stack import local_stack
from workers.telemetry import JsonFormatter

PERSON = {"id": "0b9c8a41-3333-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Pat", "lastName": "P"}


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


async def test_changes_and_dead_letters_are_logged_with_their_ids(
    prefix: str, rules_file: Path, redis: Redis, json_lines: io.StringIO
) -> None:
    settings = make_settings(prefix, rules_file)
    workspace = seed_workspace(entries=40, seed=2)
    async with local_stack(settings, workspace) as stack:
        rules = resolved_rules(settings.rules_file, stack.sandbox)
        refused = sorted({c.entry_id for c in pending_changes(stack.sandbox, rules)})[:3]
        workspace.unauthorized_ids.update(refused)
        events = [
            envelope("timetracking_updated", e, triggered_by=PERSON, changes=None)
            for e in workspace.entries.values()
        ]
        await post_events(stack.web_url, events)
        await quiet(redis, prefix, stack.sandbox)
    lines = [orjson.loads(line) for line in json_lines.getvalue().splitlines()]
    applied = [r for r in lines if r["message"].startswith("applied ")]
    assert applied
    assert all({"entry_id", "rule", "attribute", "job_id"} <= r.keys() for r in applied)
    dead = [r for r in lines if r["message"].startswith("dead-lettered")]
    assert {r["entry_id"] for r in dead} == set(refused)
    assert all(r["rule"] for r in dead)
