from __future__ import annotations

from typing import Any

import pytest

from service.sandbox import MEMBER_TOKEN, PERSON_TOKEN_PREFIX
from tests.service.sandbox.helpers import (
    MEMBER,
    Receiver,
    Sandbox,
    batch_lists,
    entry_ids,
    put_form,
)

BATCH = "/timeentries/batch/{}"


def _billed(sandbox: Sandbox) -> str:
    return entry_ids(sandbox, 1, isBilled=True)[0]


@pytest.mark.parametrize(
    ("token", "first_name"),
    [
        ("sandbox-token", "awork-billing"),
        (MEMBER_TOKEN, "Ben"),
        (f"{PERSON_TOKEN_PREFIX}carla", "Carla"),
    ],
)
async def test_me_is_the_caller(sandbox: Sandbox, token: str, first_name: str) -> None:
    response = await sandbox.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["firstName"] == first_name


async def test_an_unknown_person_key_is_401(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {PERSON_TOKEN_PREFIX}nobody"}
    assert (await sandbox.client.get("/me", headers=headers)).status_code == 401


async def test_the_keys_are_listed(sandbox: Sandbox) -> None:
    keys = (await sandbox.client.get("/_sandbox/keys")).json()
    assert [(k["token"], k["isAdmin"]) for k in keys[:2]] == [
        ("sandbox-token", True),
        (MEMBER_TOKEN, False),
    ]
    assert {k["name"] for k in keys[2:]} >= {"Carla Creative", "Ben Müller"}


@pytest.mark.parametrize(
    ("operation", "field", "value"),
    [
        ("setIsBilled", "isBilled", False),
        ("setIsBillable", "isBillable", False),
        ("setProject", "newProjectId", "Hafenkante Dashboard"),
        ("setUser", "newUserId", "Elif"),
        ("delete", None, None),
    ],
)
async def test_a_member_may_not_unbill_move_or_delete_billed_entries(
    sandbox: Sandbox, operation: str, field: str | None, value: Any
) -> None:
    billed = _billed(sandbox)
    unbilled = entry_ids(sandbox, 1, isBilled=False, isBillable=True)[0]
    if field == "newProjectId":
        value = sandbox.named("projects", value)
    elif field == "newUserId":
        value = sandbox.named("users", value)
    form = {"timeEntryIds": [billed, unbilled], **({field: value} if field else {})}
    before = dict(sandbox.ws.entries[billed])
    response = await sandbox.client.post(BATCH.format(operation), json=form, headers=MEMBER)
    lists = batch_lists(response.json())
    assert (lists["unauthorized"], lists["ok"]) == ([billed], [unbilled])
    assert sandbox.ws.entries[billed] == before
    admin = await sandbox.client.post(
        BATCH.format(operation), json={**form, "timeEntryIds": [billed]}
    )
    assert batch_lists(admin.json())["ok"] == [billed]


async def test_a_member_may_bill_and_retype_billed_entries(sandbox: Sandbox) -> None:
    billed = _billed(sandbox)
    meeting = sandbox.named("types_of_work", "Meeting")
    form = {"timeEntryIds": [billed], "newTypeOfWorkId": meeting}
    response = await sandbox.client.post(BATCH.format("setTypeOfWork"), json=form, headers=MEMBER)
    assert batch_lists(response.json())["ok"] == [billed]


async def test_single_entry_refusals_are_401(sandbox: Sandbox) -> None:
    billed = _billed(sandbox)
    entry = sandbox.ws.entries[billed]
    unbill = await sandbox.client.put(
        f"/timeentries/{billed}", json=put_form(entry, isBilled=False), headers=MEMBER
    )
    assert (unbill.status_code, unbill.json()["code"]) == (401, "unauthorized")
    delete = await sandbox.client.delete(f"/timeentries/{billed}", headers=MEMBER)
    assert delete.status_code == 401
    noted = await sandbox.client.put(
        f"/timeentries/{billed}",
        json=put_form(entry, note="Billed, still explained"),
        headers=MEMBER,
    )
    assert noted.status_code == 200
    assert sandbox.ws.entries[billed]["isBilled"] is True


@pytest.mark.parametrize("path", ["delete", "setunbilled", "setunbillable"])
async def test_legacy_refusals_for_a_member_are_400(sandbox: Sandbox, path: str) -> None:
    billed = _billed(sandbox)
    response = await sandbox.client.post(
        f"/timeentries/{path}", json={"ids": [billed]}, headers=MEMBER
    )
    assert response.status_code == 400
    assert billed in sandbox.ws.entries
    assert sandbox.ws.entries[billed]["isBilled"] is True


async def test_a_member_manages_no_webhooks(sandbox: Sandbox) -> None:
    assert (await sandbox.client.get("/webhooks", headers=MEMBER)).status_code == 401


async def test_writes_are_authored_by_the_caller(hooked: Sandbox, receiver: Receiver) -> None:
    (entry_id,) = entry_ids(hooked, 1, isBillable=False)
    form = {"timeEntryIds": [entry_id], "isBillable": True}
    await hooked.client.post(BATCH.format("setIsBillable"), json=form, headers=MEMBER)
    await hooked.state.settle()
    ben = hooked.ws.member_id
    assert hooked.ws.entries[entry_id]["updatedBy"] == ben
    assert [e["triggeredBy"]["id"] for e in receiver.events] == [ben]
