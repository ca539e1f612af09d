from __future__ import annotations

import re
from datetime import UTC, datetime

from service.sandbox import envelope, seed_workspace

PATTERN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00"


def test_the_envelope_has_awork_fields() -> None:
    ws = seed_workspace(entries=3)
    entry = next(iter(ws.entries.values()))
    person = {**ws.users[entry["userId"]], "email": "not-sent@example.com"}
    changes = [{"property": "IsBillable", "old": "False", "new": "True"}]
    body = envelope("timetracking_updated", entry, triggered_by=person, changes=changes)
    assert set(body) == {
        "timestamp", "eventType", "entityId", "entityType", "entityLink",
        "traceId", "triggeredBy", "entity", "changes",
    }  # fmt: skip
    assert re.fullmatch(PATTERN, body["timestamp"])
    assert body["eventType"] == "timetracking_updated"
    assert body["entityId"] == entry["id"]
    assert body["entityType"] == "timetracking"
    assert body["entityLink"].startswith("https://")
    assert body["triggeredBy"] == {k: person[k] for k in ("id", "firstName", "lastName")}
    assert body["entity"] == entry
    assert body["changes"] == changes


def test_the_entity_is_a_snapshot() -> None:
    entry = next(iter(seed_workspace(entries=3).entries.values()))
    body = envelope("timetracking_updated", entry, triggered_by={"id": "x"}, changes=None)
    entry["isBillable"] = not entry["isBillable"]
    entry["typeOfWork"]["name"] = "changed"
    assert body["entity"]["isBillable"] is not entry["isBillable"]
    assert body["entity"]["typeOfWork"]["name"] != "changed"


def test_changes_are_left_out_when_unknown() -> None:
    entry = next(iter(seed_workspace(entries=3).entries.values()))
    assert "changes" not in envelope("timetracking_added", entry, triggered_by={}, changes=None)


def test_a_given_timestamp_keeps_seven_digits() -> None:
    entry = next(iter(seed_workspace(entries=3).entries.values()))
    moment = datetime(2026, 11, 2, 9, 5, 1, 123456, tzinfo=UTC)
    body = envelope("timetracking_updated", entry, triggered_by={}, changes=None, timestamp=moment)
    assert body["timestamp"] == "2026-11-02T09:05:01.1234560+00:00"
