from __future__ import annotations

from typing import Any

import pytest

from service.sandbox.contract import load_contract
from tests.service.sandbox.helpers import UNKNOWN_ID, Receiver, Sandbox


def _form(receiver: Receiver, **changes: Any) -> dict[str, Any]:
    form = {
        "name": "billing",
        "uri": receiver.url,
        "events": "timetracking_added,timetracking_updated",
        "isActive": True,
        "authenticationType": "header",
        "authentication": "Authorization=Bearer hook-token",
    }
    return {**form, **changes}


async def test_register_list_update_and_delete(sandbox: Sandbox, receiver: Receiver) -> None:
    created = await sandbox.client.post("/webhooks", json=_form(receiver))
    assert created.status_code == 200
    config = created.json()
    load_contract().check("WebhookConfig", config)
    assert (config["receiverType"], config["createdBy"]) == ("custom", sandbox.ws.api_user["id"])
    listed = await sandbox.client.get("/webhooks")
    assert [c["id"] for c in listed.json()] == [config["id"]]
    updated = await sandbox.client.put(
        f"/webhooks/{config['id']}", json=_form(receiver, name="renamed")
    )
    assert updated.json()["name"] == "renamed"
    assert updated.json()["createdOn"] == config["createdOn"]
    assert (await sandbox.client.delete(f"/webhooks/{config['id']}")).status_code == 204
    assert (await sandbox.client.get(f"/webhooks/{config['id']}")).status_code == 404
    assert (await sandbox.client.delete(f"/webhooks/{UNKNOWN_ID}")).status_code == 404


async def test_a_registered_webhook_receives_the_echo_with_its_header(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    await sandbox.client.post("/webhooks", json=_form(receiver))
    entry_id = next(i for i, e in sandbox.ws.entries.items() if not e["isBillable"])
    await sandbox.client.post(
        "/timeentries/batch/setIsBillable", json={"timeEntryIds": [entry_id], "isBillable": True}
    )
    await sandbox.state.settle()
    ((headers, body),) = receiver.requests
    assert headers["authorization"] == "Bearer hook-token"
    assert body["entityId"] == entry_id


async def test_only_subscribed_events_are_sent(sandbox: Sandbox, receiver: Receiver) -> None:
    await sandbox.client.post("/webhooks", json=_form(receiver, events="timetracking_deleted"))
    report = await sandbox.client.post("/_sandbox/fanout", json={"limit": 3, "note_suffix": "!"})
    assert report.json()["deliveries"] == 0
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"events": "timetracking_updated,time_entry_changed"}, "events"),
        ({"events": ["timetracking_updated"]}, "events"),
        ({"authentication": None}, "authentication"),
        ({"authentication": "no-equals-sign"}, "authentication"),
        ({"authenticationType": "basic"}, "authenticationType"),
        ({"uri": "not a url"}, "uri"),
        ({"isActive": None}, "isActive"),
        ({"secret": "x"}, "secret"),
    ],
)
async def test_a_bad_form_is_refused(
    sandbox: Sandbox, receiver: Receiver, changes: dict[str, Any], named: str
) -> None:
    response = await sandbox.client.post("/webhooks", json=_form(receiver, **changes))
    assert response.status_code == 400
    assert named in [e["property"] for e in response.json()["validationErrors"]]
    assert sandbox.state.hooks == {}


async def test_managing_webhooks_needs_admin(sandbox: Sandbox, receiver: Receiver) -> None:
    sandbox.ws.api_user_is_admin = False
    assert (await sandbox.client.get("/webhooks")).status_code == 401
    assert (await sandbox.client.post("/webhooks", json=_form(receiver))).status_code == 401


async def test_event_types(sandbox: Sandbox) -> None:
    names = (await sandbox.client.get("/webhooks/eventtypes")).json()
    assert {
        "timetracking_added",
        "timetracking_updated",
        "timetracking_deleted",
        "timetracking_type_changed",
    } <= set(names)
