from __future__ import annotations

from typing import Any

import pytest

from service.sandbox.contract import load_contract
from tests.service.sandbox.helpers import UNKNOWN_ID, Sandbox, batch_lists, entry_ids

BATCH = "/timeentries/batch/{}"


async def test_batch_reports_each_id(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    ok, denied = entry_ids(sandbox, 2, isBillable=False, isBilled=False)
    ws.unauthorized_ids.add(denied)
    before = ws.entries[ok]["resourceVersion"]
    form = {"timeEntryIds": [ok, denied, UNKNOWN_ID, ok], "isBillable": True}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert response.status_code == 207
    assert batch_lists(response.json()) == {
        "ok": [ok],
        "notFound": [UNKNOWN_ID],
        "unauthorized": [denied],
        "badRequest": [],
    }
    entry = ws.entries[ok]
    assert entry["isBillable"] is True
    assert entry["resourceVersion"] > before
    assert entry["resourceVersion"] == ws.last_version
    assert entry["updatedBy"] == ws.api_user["id"]
    assert entry["updatedOn"][:4] >= "2026"
    assert ws.entries[denied]["isBillable"] is False


async def test_an_entry_already_at_the_target_is_ok_and_untouched(sandbox: Sandbox) -> None:
    (entry_id,) = entry_ids(sandbox, 1, isBillable=True)
    before = dict(sandbox.ws.entries[entry_id])
    form = {"timeEntryIds": [entry_id], "isBillable": True}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert batch_lists(response.json())["ok"] == [entry_id]
    assert sandbox.ws.entries[entry_id] == before


async def test_touch_unchanged_bumps_entries_already_at_the_target(sandbox: Sandbox) -> None:
    sandbox.ws.touch_unchanged = True
    (entry_id,) = entry_ids(sandbox, 1, isBillable=True)
    before = sandbox.ws.entries[entry_id]["resourceVersion"]
    form = {"timeEntryIds": [entry_id], "isBillable": True}
    await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert sandbox.ws.entries[entry_id]["resourceVersion"] > before


async def test_making_a_billed_entry_unbillable_clears_billed(sandbox: Sandbox) -> None:
    (entry_id,) = entry_ids(sandbox, 1, isBilled=True)
    form = {"timeEntryIds": [entry_id], "isBillable": False}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert batch_lists(response.json())["ok"] == [entry_id]
    assert (
        sandbox.ws.entries[entry_id]["isBillable"],
        sandbox.ws.entries[entry_id]["isBilled"],
    ) == (False, False)


@pytest.mark.parametrize(
    ("operation", "form_field"), [("setIsBillable", "isBillable"), ("setIsBilled", "isBilled")]
)
async def test_unbilling_needs_admin(sandbox: Sandbox, operation: str, form_field: str) -> None:
    sandbox.ws.api_user_is_admin = False
    billed = entry_ids(sandbox, 1, isBilled=True)[0]
    unbilled = entry_ids(sandbox, 1, isBilled=False, isBillable=True)[0]
    form = {"timeEntryIds": [billed, unbilled], form_field: False}
    response = await sandbox.client.post(BATCH.format(operation), json=form)
    assert batch_lists(response.json()) == {
        "ok": [unbilled],
        "notFound": [],
        "unauthorized": [billed],
        "badRequest": [],
    }
    assert sandbox.ws.entries[billed]["isBilled"] is True


async def test_billing_needs_no_admin(sandbox: Sandbox) -> None:
    sandbox.ws.api_user_is_admin = False
    (entry_id,) = entry_ids(sandbox, 1, isBilled=False, isBillable=True)
    response = await sandbox.client.post(
        BATCH.format("setIsBilled"), json={"timeEntryIds": [entry_id], "isBilled": True}
    )
    assert batch_lists(response.json())["ok"] == [entry_id]
    assert sandbox.ws.entries[entry_id]["isBilled"] is True


async def test_set_type_of_work(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    meeting = next(t for t in ws.types_of_work.values() if t["name"] == "Meeting")
    entry_id = next(i for i, e in ws.entries.items() if e["typeOfWorkId"] != meeting["id"])
    form = {"timeEntryIds": [entry_id], "newTypeOfWorkId": meeting["id"]}
    response = await sandbox.client.post(BATCH.format("setTypeOfWork"), json=form)
    assert batch_lists(response.json())["ok"] == [entry_id]
    assert ws.entries[entry_id]["typeOfWorkId"] == meeting["id"]
    assert ws.entries[entry_id]["typeOfWork"]["name"] == "Meeting"


async def test_set_type_of_work_needs_a_usable_type(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    archived = next(t["id"] for t in sandbox.ws.types_of_work.values() if t["isArchived"])
    unknown = await sandbox.client.post(
        BATCH.format("setTypeOfWork"),
        json={"timeEntryIds": [entry_id], "newTypeOfWorkId": UNKNOWN_ID},
    )
    assert unknown.status_code == 400
    assert unknown.json()["validationErrors"][0]["property"] == "newTypeOfWorkId"
    gone = await sandbox.client.post(
        BATCH.format("setTypeOfWork"),
        json={"timeEntryIds": [entry_id], "newTypeOfWorkId": archived},
    )
    assert (gone.status_code, gone.json()["code"]) == (400, "entity-archived")


@pytest.mark.parametrize(
    ("operation", "form_field"),
    [
        ("setIsBillable", "isBillable"),
        ("setIsBilled", "isBilled"),
        ("setTypeOfWork", "newTypeOfWorkId"),
    ],
)
async def test_an_operation_needs_its_field(
    sandbox: Sandbox, operation: str, form_field: str
) -> None:
    form = {"timeEntryIds": [next(iter(sandbox.ws.entries))], form_field: None}
    response = await sandbox.client.post(BATCH.format(operation), json=form)
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["property"] == form_field


async def test_require_all_changes_nothing_when_one_fails(sandbox: Sandbox) -> None:
    good = entry_ids(sandbox, 2, isBillable=False)
    form = {"timeEntryIds": [*good, UNKNOWN_ID], "isBillable": True, "requireAllTimeEntries": True}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert batch_lists(response.json()) == {
        "ok": [],
        "notFound": [UNKNOWN_ID],
        "unauthorized": [],
        "badRequest": good,
    }
    assert all(sandbox.ws.entries[i]["isBillable"] is False for i in good)
    form["timeEntryIds"] = good
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert batch_lists(response.json())["ok"] == good


async def test_bad_request_ids_land_in_bad_request(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    sandbox.ws.bad_request_ids.add(entry_id)
    response = await sandbox.client.post(
        BATCH.format("setIsBilled"), json={"timeEntryIds": [entry_id], "isBilled": True}
    )
    assert batch_lists(response.json())["badRequest"] == [entry_id]


async def test_unknown_operations_are_404(sandbox: Sandbox) -> None:
    form = {"timeEntryIds": [next(iter(sandbox.ws.entries))]}
    unknown = await sandbox.client.post(BATCH.format("setBillable"), json=form)
    assert unknown.status_code == 404
    lower = await sandbox.client.post(
        BATCH.format("setisbillable"), json={**form, "isBillable": True}
    )
    assert lower.status_code == 404


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"timeEntryIds": [UNKNOWN_ID], "isBillable": True, "billable": True}, "billable"),
        ({"timeEntryIds": ["not-a-guid"], "isBillable": True}, "timeEntryIds[0]"),
        ({"isBillable": True}, "timeEntryIds"),
        ({"timeEntryIds": [UNKNOWN_ID], "isBillable": "yes"}, "isBillable"),
    ],
)
async def test_the_form_is_validated_against_the_schema(
    sandbox: Sandbox, form: dict[str, Any], named: str
) -> None:
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert response.status_code == 400
    body = response.json()
    load_contract().check("ErrorResponse", body)
    assert body["code"] == "validation-failed"
    assert [e["property"] for e in body["validationErrors"]] == [named]


async def test_a_body_that_is_not_json(sandbox: Sandbox) -> None:
    url = BATCH.format("setIsBillable")
    not_json = await sandbox.client.post(
        url, content=b"ids=1", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415
    broken = await sandbox.client.post(
        url, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["code"]) == (400, "validation-failed")


async def test_set_project_clears_the_task(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    target = sandbox.named("projects", "Hafenkante Dashboard")
    moving = next(i for i, e in ws.entries.items() if e["taskId"] and e["projectId"] != target)
    staying = next(i for i, e in ws.entries.items() if e["taskId"] and e["projectId"] == target)
    before = ws.entries[staying]["resourceVersion"]
    form = {"timeEntryIds": [moving, staying], "newProjectId": target}
    response = await sandbox.client.post(BATCH.format("setProject"), json=form)
    assert batch_lists(response.json())["ok"] == [moving, staying]
    moved = ws.entries[moving]
    assert (moved["projectId"], moved["taskId"], "task" in moved) == (target, None, False)
    assert moved["project"]["name"] == "Hafenkante Dashboard"
    assert ws.entries[staying]["resourceVersion"] == before  # already there: unchanged


async def test_set_task_sets_its_project(sandbox: Sandbox) -> None:
    task = next(t for t in sandbox.ws.tasks.values() if t["name"] == "Strategy workshop")
    entry_id = next(i for i, e in sandbox.ws.entries.items() if e["projectId"] != task["projectId"])
    form = {"timeEntryIds": [entry_id], "newTaskId": task["id"]}
    response = await sandbox.client.post(BATCH.format("setTask"), json=form)
    assert batch_lists(response.json())["ok"] == [entry_id]
    entry = sandbox.ws.entries[entry_id]
    assert (entry["taskId"], entry["projectId"]) == (task["id"], task["projectId"])
    assert (entry["task"]["name"], entry["project"]["id"]) == (
        "Strategy workshop",
        task["projectId"],
    )


async def test_set_user(sandbox: Sandbox) -> None:
    elif_id = sandbox.named("users", "Elif")
    entry_id = next(i for i, e in sandbox.ws.entries.items() if e["userId"] != elif_id)
    form = {"timeEntryIds": [entry_id], "newUserId": elif_id}
    await sandbox.client.post(BATCH.format("setUser"), json=form)
    entry = sandbox.ws.entries[entry_id]
    assert (entry["userId"], entry["user"]["firstName"]) == (elif_id, "Elif")


async def test_batch_delete(sandbox: Sandbox) -> None:
    doomed = entry_ids(sandbox, 2)
    form = {"timeEntryIds": [*doomed, UNKNOWN_ID]}
    response = await sandbox.client.post(BATCH.format("delete"), json=form)
    assert batch_lists(response.json()) == {
        "ok": doomed,
        "notFound": [UNKNOWN_ID],
        "unauthorized": [],
        "badRequest": [],
    }
    assert not set(doomed) & set(sandbox.ws.entries)


async def test_require_all_keeps_entries_a_delete_would_remove(sandbox: Sandbox) -> None:
    kept = entry_ids(sandbox, 2)
    sandbox.ws.unauthorized_ids.add(kept[1])
    form = {"timeEntryIds": kept, "requireAllTimeEntries": True}
    response = await sandbox.client.post(BATCH.format("delete"), json=form)
    assert batch_lists(response.json())["badRequest"] == kept[:1]
    assert set(kept) <= set(sandbox.ws.entries)


@pytest.mark.parametrize(
    ("operation", "form_field"),
    [("setProject", "newProjectId"), ("setTask", "newTaskId"), ("setUser", "newUserId")],
)
async def test_moves_need_an_existing_target(
    sandbox: Sandbox, operation: str, form_field: str
) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    for value in (None, UNKNOWN_ID):
        form = {"timeEntryIds": [entry_id], form_field: value}
        response = await sandbox.client.post(BATCH.format(operation), json=form)
        assert response.status_code == 400
        assert response.json()["validationErrors"][0]["property"] == form_field
