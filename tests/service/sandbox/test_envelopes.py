from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from service.sandbox import envelope, seed_workspace
from tests.service.sandbox.helpers import Receiver, Sandbox, entry_ids, put_form

PATTERN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00"


def test_the_envelope_has_awork_fields() -> None:
    ws = seed_workspace(entries=3)
    entry = next(iter(ws.entries.values()))
    person = {**ws.users[entry["userId"]], "email": "not-sent@example.com"}
    changes = [{"property": "IsBillable", "old": "False", "new": "True"}]
    body = envelope("timetracking_updated", entry, triggered_by=person, changes=changes)
    assert set(body) == {"timestamp", "eventType", "entityId", "entityType", "entityLink"} | {
        "traceId",
        "triggeredBy",
        "entity",
        "changes",
    }
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


def _changed(event: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {c["property"]: (c["old"], c["new"]) for c in event["changes"]}


async def test_a_new_entry_sends_added_with_what_was_set(
    hooked: Sandbox, receiver: Receiver
) -> None:
    form = {
        "timezone": "Europe/Berlin",
        "typeOfWorkId": hooked.named("types_of_work", "Consulting"),
        "userId": hooked.named("users", "Elif"),
        "startDateUtc": "2026-11-23T09:00:00Z",
        "duration": 2700,
        "note": "SEO consulting",
    }
    entry = (await hooked.client.post("/timeentries", json=form)).json()
    await hooked.state.settle()
    (event,) = receiver.events
    assert (event["eventType"], event["entity"]) == ("timetracking_added", entry)
    changed = _changed(event)
    assert changed["Duration"] == (None, "2700")
    assert changed["Note"] == (None, "SEO consulting")
    assert changed["IsBillable"] == (None, "False")
    assert "Project" not in changed
    assert "ResourceVersion" not in changed


async def test_a_type_change_sends_updated_and_type_changed(
    hooked: Sandbox, receiver: Receiver
) -> None:
    meeting = hooked.named("types_of_work", "Meeting")
    entry_id = next(i for i, e in hooked.ws.entries.items() if e["typeOfWorkId"] != meeting)
    old = hooked.ws.entries[entry_id]["typeOfWorkId"]
    form = {"timeEntryIds": [entry_id], "newTypeOfWorkId": meeting}
    await hooked.client.post("/timeentries/batch/setTypeOfWork", json=form)
    await hooked.state.settle()
    kinds = sorted(e["eventType"] for e in receiver.events)
    assert kinds == ["timetracking_type_changed", "timetracking_updated"]
    for event in receiver.events:
        assert _changed(event)["TypeOfWorkId"] == (old, meeting)
        assert event["entity"]["typeOfWork"]["name"] == "Meeting"


async def test_a_put_lists_each_changed_property(hooked: Sandbox, receiver: Receiver) -> None:
    (entry_id,) = entry_ids(hooked, 1, isBilled=False, isBillable=True)
    entry = dict(hooked.ws.entries[entry_id])
    no_end = dict.fromkeys(("endDateUtc", "endTimeUtc", "endDateLocal", "endTimeLocal"))
    form = put_form(entry, note="New note", duration=entry["duration"] + 60, **no_end)
    await hooked.client.put(f"/timeentries/{entry_id}", json=form)
    await hooked.state.settle()
    (event,) = receiver.events
    changed = _changed(event)
    assert changed["Note"] == (entry["note"], "New note")
    assert changed["Duration"] == (str(entry["duration"]), str(entry["duration"] + 60))
    assert {"EndTimeUtc", "EndTimeLocal", "UpdatedOn"} <= set(changed)
    assert "IsBillable" not in changed


async def test_a_deletion_sends_deleted_with_who_and_when(
    hooked: Sandbox, receiver: Receiver
) -> None:
    entry_id = next(iter(hooked.ws.entries))
    entry = dict(hooked.ws.entries[entry_id])
    await hooked.client.delete(f"/timeentries/{entry_id}")
    await hooked.state.settle()
    (event,) = receiver.events
    assert (event["eventType"], "changes" in event) == ("timetracking_deleted", False)
    assert event["entity"]["deletedBy"] == hooked.ws.api_user["id"]
    assert event["entity"]["deletedOn"].startswith("20")
    assert event["entity"]["resourceVersion"] > entry["resourceVersion"]
    assert {k: v for k, v in event["entity"].items() if k in entry} == {
        **entry,
        "resourceVersion": event["entity"]["resourceVersion"],
    }


async def test_a_write_that_changes_nothing_sends_nothing(
    hooked: Sandbox, receiver: Receiver
) -> None:
    (entry_id,) = entry_ids(hooked, 1, isBillable=True)
    entry = dict(hooked.ws.entries[entry_id])
    await hooked.client.post(
        "/timeentries/batch/setIsBillable", json={"timeEntryIds": [entry_id], "isBillable": True}
    )
    await hooked.client.put(f"/timeentries/{entry_id}", json=put_form(entry))
    await hooked.client.post(f"/timeentries/{entry_id}/removebreaks")
    await hooked.state.settle()
    assert receiver.events == []
    assert hooked.ws.entries[entry_id] == entry


async def test_only_subscribed_webhooks_receive_an_event(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    form = {
        "name": "deletions",
        "uri": receiver.url,
        "events": "timetracking_deleted",
        "isActive": True,
        "authenticationType": "none",
    }
    await sandbox.client.post("/webhooks", json=form)
    doomed, kept = entry_ids(sandbox, 2, isBillable=False)
    await sandbox.client.post(
        "/timeentries/batch/setIsBillable", json={"timeEntryIds": [kept], "isBillable": True}
    )
    await sandbox.client.post("/timeentries/delete", json={"ids": [doomed]})
    await sandbox.state.settle()
    assert [(e["eventType"], e["entityId"]) for e in receiver.events] == [
        ("timetracking_deleted", doomed)
    ]
