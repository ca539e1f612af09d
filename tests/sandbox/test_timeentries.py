from __future__ import annotations

from typing import Any

import pytest

from service.sandbox.contract import load_contract
from tests.sandbox.helpers import UNKNOWN_ID, Sandbox

BATCH = "/timeentries/batch/{}"


def _ids(sandbox: Sandbox, count: int, **match: Any) -> list[str]:
    found = [
        i for i, e in sandbox.ws.entries.items() if all(e.get(k) == v for k, v in match.items())
    ]
    assert len(found) >= count
    return found[:count]


def _lists(body: dict[str, Any]) -> dict[str, list[str]]:
    load_contract().check("MultiStatusResult", body)
    return {name: body[name]["ids"] for name in ("ok", "notFound", "unauthorized", "badRequest")}


async def test_listing_pages_with_awork_headers(sandbox: Sandbox) -> None:
    response = await sandbox.client.get("/timeentries", params={"page": 2, "pageSize": 25})
    assert response.status_code == 200
    headers = {
        k: response.headers[k] for k in ("aw-page", "aw-pagesize", "aw-items", "aw-totalitems")
    }
    assert headers == {"aw-page": "2", "aw-pagesize": "25", "aw-items": "25", "aw-totalitems": "60"}
    assert [e["id"] for e in response.json()] == list(sandbox.ws.entries)[25:50]
    last = await sandbox.client.get("/timeentries", params={"page": 3, "pageSize": 25})
    assert last.headers["aw-items"] == "10"
    default = await sandbox.client.get("/timeentries")
    assert default.headers["aw-pagesize"] == "10"
    assert len(default.json()) == 10


@pytest.mark.parametrize(
    "params", [{"pageSize": 1001}, {"pageSize": 0}, {"page": 0}, {"page": "x"}]
)
async def test_bad_paging_is_refused(sandbox: Sandbox, params: dict[str, Any]) -> None:
    response = await sandbox.client.get("/timeentries", params=params)
    assert response.status_code == 400


async def test_filter_by_ids(sandbox: Sandbox) -> None:
    wanted = list(sandbox.ws.entries)[3:6]
    literals = ", ".join(f"guid'{i.upper()}'" for i in wanted)
    response = await sandbox.client.get(
        "/timeentries", params={"filterby": f"id in ({literals})", "pageSize": 100}
    )
    assert sorted(e["id"] for e in response.json()) == sorted(wanted)
    assert response.headers["aw-totalitems"] == "3"


async def test_filter_by_updated_on_finds_what_changed(sandbox: Sandbox) -> None:
    newest = max(e["updatedOn"] for e in sandbox.ws.entries.values())
    changed = _ids(sandbox, 2, isBillable=False)
    await sandbox.client.post(
        BATCH.format("setIsBillable"), json={"timeEntryIds": changed, "isBillable": True}
    )
    params: dict[str, str | int] = {
        "filterby": f"updatedOn gt datetime'{newest}'",
        "orderby": "updatedOn desc",
        "pageSize": 100,
    }
    response = await sandbox.client.get("/timeentries", params=params)
    assert [e["id"] for e in response.json()] == changed[::-1]


async def test_filter_with_and_or_not_and_nested_properties(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    agency = next(c["id"] for c in ws.companies.values() if c["name"] == "Our Agency GmbH")
    expression = (
        f"project/companyId ne guid'{agency}' and (isBillable eq false or not (isBilled eq false))"
    )
    response = await sandbox.client.get(
        "/timeentries", params={"filterby": expression, "pageSize": 1000}
    )
    expected = [
        i
        for i, e in ws.entries.items()
        if ws.projects.get(e["projectId"] or "", {}).get("companyId") != agency
        and (not e["isBillable"] or e["isBilled"])
    ]
    assert [e["id"] for e in response.json()] == expected
    assert 0 < len(expected) < len(ws.entries)


@pytest.mark.parametrize(
    "expression",
    ["isBillable eq", "noSuchField eq 1", "id eq guid'123'", "isBillable eq true) or (1"],
)
async def test_a_bad_filter_is_invalid_filter_or_order(sandbox: Sandbox, expression: str) -> None:
    response = await sandbox.client.get("/timeentries", params={"filterby": expression})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid-filter-or-order"


async def test_query_names_are_case_insensitive(sandbox: Sandbox) -> None:
    response = await sandbox.client.get(
        "/timeentries", params={"filterBy": "isBilled eq true", "PAGESIZE": 500}
    )
    assert response.headers["aw-pagesize"] == "500"
    assert all(e["isBilled"] for e in response.json())


async def test_get_one_entry(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    response = await sandbox.client.get(f"/timeentries/{entry_id.upper()}")
    assert response.json() == sandbox.ws.entries[entry_id]
    missing = await sandbox.client.get(f"/timeentries/{UNKNOWN_ID}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not-found"


async def test_batch_reports_each_id(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    ok, denied = _ids(sandbox, 2, isBillable=False, isBilled=False)
    ws.unauthorized_ids.add(denied)
    before = ws.entries[ok]["resourceVersion"]
    form = {"timeEntryIds": [ok, denied, UNKNOWN_ID, ok], "isBillable": True}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert response.status_code == 207
    assert _lists(response.json()) == {
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
    (entry_id,) = _ids(sandbox, 1, isBillable=True)
    before = dict(sandbox.ws.entries[entry_id])
    form = {"timeEntryIds": [entry_id], "isBillable": True}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert _lists(response.json())["ok"] == [entry_id]
    assert sandbox.ws.entries[entry_id] == before


async def test_touch_unchanged_bumps_entries_already_at_the_target(sandbox: Sandbox) -> None:
    sandbox.ws.touch_unchanged = True
    (entry_id,) = _ids(sandbox, 1, isBillable=True)
    before = sandbox.ws.entries[entry_id]["resourceVersion"]
    form = {"timeEntryIds": [entry_id], "isBillable": True}
    await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert sandbox.ws.entries[entry_id]["resourceVersion"] > before


async def test_making_a_billed_entry_unbillable_clears_billed(sandbox: Sandbox) -> None:
    (entry_id,) = _ids(sandbox, 1, isBilled=True)
    form = {"timeEntryIds": [entry_id], "isBillable": False}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert _lists(response.json())["ok"] == [entry_id]
    assert (
        sandbox.ws.entries[entry_id]["isBillable"],
        sandbox.ws.entries[entry_id]["isBilled"],
    ) == (False, False)


@pytest.mark.parametrize(
    ("operation", "form_field"), [("setIsBillable", "isBillable"), ("setIsBilled", "isBilled")]
)
async def test_unbilling_needs_admin(sandbox: Sandbox, operation: str, form_field: str) -> None:
    sandbox.ws.api_user_is_admin = False
    billed = _ids(sandbox, 1, isBilled=True)[0]
    unbilled = _ids(sandbox, 1, isBilled=False, isBillable=True)[0]
    form = {"timeEntryIds": [billed, unbilled], form_field: False}
    response = await sandbox.client.post(BATCH.format(operation), json=form)
    assert _lists(response.json()) == {
        "ok": [unbilled],
        "notFound": [],
        "unauthorized": [billed],
        "badRequest": [],
    }
    assert sandbox.ws.entries[billed]["isBilled"] is True


async def test_billing_needs_no_admin(sandbox: Sandbox) -> None:
    sandbox.ws.api_user_is_admin = False
    (entry_id,) = _ids(sandbox, 1, isBilled=False, isBillable=True)
    response = await sandbox.client.post(
        BATCH.format("setIsBilled"), json={"timeEntryIds": [entry_id], "isBilled": True}
    )
    assert _lists(response.json())["ok"] == [entry_id]
    assert sandbox.ws.entries[entry_id]["isBilled"] is True


async def test_set_type_of_work(sandbox: Sandbox) -> None:
    ws = sandbox.ws
    meeting = next(t for t in ws.types_of_work.values() if t["name"] == "Meeting")
    entry_id = next(i for i, e in ws.entries.items() if e["typeOfWorkId"] != meeting["id"])
    form = {"timeEntryIds": [entry_id], "newTypeOfWorkId": meeting["id"]}
    response = await sandbox.client.post(BATCH.format("setTypeOfWork"), json=form)
    assert _lists(response.json())["ok"] == [entry_id]
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
    good = _ids(sandbox, 2, isBillable=False)
    form = {"timeEntryIds": [*good, UNKNOWN_ID], "isBillable": True, "requireAllTimeEntries": True}
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert _lists(response.json()) == {
        "ok": [],
        "notFound": [UNKNOWN_ID],
        "unauthorized": [],
        "badRequest": good,
    }
    assert all(sandbox.ws.entries[i]["isBillable"] is False for i in good)
    form["timeEntryIds"] = good
    response = await sandbox.client.post(BATCH.format("setIsBillable"), json=form)
    assert _lists(response.json())["ok"] == good


async def test_bad_request_ids_land_in_bad_request(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    sandbox.ws.bad_request_ids.add(entry_id)
    response = await sandbox.client.post(
        BATCH.format("setIsBilled"), json={"timeEntryIds": [entry_id], "isBilled": True}
    )
    assert _lists(response.json())["badRequest"] == [entry_id]


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
