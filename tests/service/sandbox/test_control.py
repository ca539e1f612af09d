from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.service.sandbox.helpers import Receiver, Sandbox


async def test_control_routes_need_no_token_and_are_not_recorded(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        entries = await anonymous.get("/_sandbox/entries")
        assert entries.json() == list(sandbox.ws.entries.values())
        assert (await anonymous.post("/_sandbox/reset-calls")).status_code == 204
    assert sandbox.state.calls == []


async def test_stats_group_calls_by_route_and_status(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    await sandbox.client.get(f"/timeentries/{entry_id}")
    await sandbox.client.get(f"/timeentries/{entry_id}")
    await sandbox.client.get("/timeentries", params={"filterby": "bad eq"})
    stats = (await sandbox.client.get("/_sandbox/stats")).json()
    assert stats["total"] == 3
    assert stats["by_status"] == {"200": 2, "400": 1}
    assert {"method": "GET", "template": "/timeentries/{id}", "status": 200, "count": 2} in stats[
        "calls"
    ]
    assert {"method": "GET", "template": "/timeentries", "status": 400, "count": 1} in stats[
        "calls"
    ]
    await sandbox.client.post("/_sandbox/reset-calls")
    assert (await sandbox.client.get("/_sandbox/stats")).json()["total"] == 0


async def test_a_project_change_fans_out_to_every_entry(
    hooked: Sandbox, receiver: Receiver
) -> None:
    ws = hooked.ws
    project_id = max(
        ws.projects, key=lambda p: sum(e["projectId"] == p for e in ws.entries.values())
    )
    mine = [i for i, e in ws.entries.items() if e["projectId"] == project_id]
    before = {i: ws.entries[i]["resourceVersion"] for i in mine}
    response = await hooked.client.post("/_sandbox/fanout", json={"project_id": project_id})
    report = response.json()
    assert (report["events"], report["delivered"], report["entry_ids"]) == (
        len(mine),
        len(mine),
        mine,
    )
    assert len(receiver.requests) == len(mine)  # delivered before the answer
    person = next(u for u in ws.users if u != ws.api_user["id"])
    for body in receiver.events:
        assert body["triggeredBy"]["id"] == person
        assert "changes" not in body
        assert body["entity"]["resourceVersion"] > before[body["entityId"]]


async def test_people_edit_entries(hooked: Sandbox, receiver: Receiver) -> None:
    ws = hooked.ws
    ids = [i for i, e in ws.entries.items() if e["isBillable"]][:4]
    user_id = list(ws.users)[2]
    body = {
        "entry_ids": ids,
        "by_user_id": user_id,
        "note_suffix": " (edited)",
        "set": {"isBillable": False},
    }
    report = (await hooked.client.post("/_sandbox/fanout", json=body)).json()
    assert report["delivered"] == 4
    for event in receiver.events:
        assert event["triggeredBy"]["id"] == user_id
        assert [c["property"] for c in event["changes"]] == ["IsBillable", "Note", "UpdatedOn"]
        assert event["entity"]["note"].endswith(" (edited)")
        assert ws.entries[event["entityId"]]["updatedBy"] == user_id


async def test_a_nested_change_skips_main_entity_only_webhooks(
    hooked: Sandbox, receiver: Receiver
) -> None:
    (hook,) = hooked.state.hooks.values()
    hook.config["onlyTriggerForMainEntityChanges"] = True
    nested = (await hooked.client.post("/_sandbox/fanout", json={"limit": 5})).json()
    assert nested["deliveries"] == 0
    direct = (
        await hooked.client.post("/_sandbox/fanout", json={"limit": 5, "note_suffix": "."})
    ).json()
    assert direct["delivered"] == 5


@pytest.mark.parametrize(
    "body",
    [
        {"project_id": "0f0f0f0f-0000-4000-8000-00000000abcd"},
        {"entry_ids": ["nope"]},
        {"by_user_id": "nobody"},
        {"limit": -1},
        {"set": {"isBillable": "yes"}},
        {"set": {"note": "x"}},
        {"event_type": "project_updated"},
        {"projectId": "x"},
    ],
)
async def test_a_bad_fanout_is_refused(sandbox: Sandbox, body: dict[str, Any]) -> None:
    response = await sandbox.client.post("/_sandbox/fanout", json=body)
    assert response.status_code == 400
