from __future__ import annotations

import pytest

from tests.service.sandbox.helpers import UNKNOWN_ID, Sandbox


def _entry(sandbox: Sandbox, **match: bool) -> str:
    return next(
        i for i, e in sandbox.ws.entries.items() if all(e[k] == v for k, v in match.items())
    )


@pytest.mark.parametrize(
    ("path", "start", "attribute", "value"),
    [
        ("setbillable", {"isBillable": False}, "isBillable", True),
        ("setunbillable", {"isBillable": True, "isBilled": False}, "isBillable", False),
        ("setbilled", {"isBillable": True, "isBilled": False}, "isBilled", True),
        ("setunbilled", {"isBilled": True}, "isBilled", False),
    ],
)
async def test_flag_endpoints_answer_204(
    sandbox: Sandbox, path: str, start: dict[str, bool], attribute: str, value: bool
) -> None:
    entry_id = _entry(sandbox, **start)
    response = await sandbox.client.post(f"/timeentries/{path}", json={"ids": [entry_id]})
    assert response.status_code == 204
    assert sandbox.ws.entries[entry_id][attribute] is value


async def test_set_type_of_work(sandbox: Sandbox) -> None:
    design = next(t["id"] for t in sandbox.ws.types_of_work.values() if t["name"] == "Design")
    entry_id = next(i for i, e in sandbox.ws.entries.items() if e["typeOfWorkId"] != design)
    response = await sandbox.client.post(
        "/timeentries/settypeofwork", json={"ids": [entry_id], "typeOfWorkId": design}
    )
    assert response.status_code == 204
    assert sandbox.ws.entries[entry_id]["typeOfWork"]["name"] == "Design"
    missing = await sandbox.client.post("/timeentries/settypeofwork", json={"ids": [entry_id]})
    assert missing.status_code == 400


async def test_an_unknown_id_changes_nothing(sandbox: Sandbox) -> None:
    entry_id = _entry(sandbox, isBillable=False)
    response = await sandbox.client.post(
        "/timeentries/setbillable", json={"ids": [entry_id, UNKNOWN_ID]}
    )
    assert response.status_code == 404
    assert response.json()["details"] == [UNKNOWN_ID]
    assert sandbox.ws.entries[entry_id]["isBillable"] is False


async def test_an_unauthorized_id_changes_nothing(sandbox: Sandbox) -> None:
    entry_id, denied = [i for i, e in sandbox.ws.entries.items() if not e["isBillable"]][:2]
    sandbox.ws.unauthorized_ids.add(denied)
    response = await sandbox.client.post(
        "/timeentries/setbillable", json={"ids": [entry_id, denied]}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert sandbox.ws.entries[entry_id]["isBillable"] is False


@pytest.mark.parametrize("path", ["setunbillable", "setunbilled"])
async def test_unbilling_without_admin_is_400(sandbox: Sandbox, path: str) -> None:
    sandbox.ws.api_user_is_admin = False
    entry_id = _entry(sandbox, isBilled=True)
    response = await sandbox.client.post(f"/timeentries/{path}", json={"ids": [entry_id]})
    assert response.status_code == 400
    assert sandbox.ws.entries[entry_id]["isBilled"] is True


async def test_setunbillable_by_an_admin_clears_billed(sandbox: Sandbox) -> None:
    entry_id = _entry(sandbox, isBilled=True)
    response = await sandbox.client.post("/timeentries/setunbillable", json={"ids": [entry_id]})
    assert response.status_code == 204
    assert (
        sandbox.ws.entries[entry_id]["isBillable"],
        sandbox.ws.entries[entry_id]["isBilled"],
    ) == (False, False)


async def test_the_legacy_form_is_validated(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/timeentries/setbilled", json={"timeEntryIds": []})
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["property"] == "timeEntryIds"
    empty = await sandbox.client.post("/timeentries/setbilled", json={"ids": None})
    assert empty.status_code == 204


async def test_delete_answers_204(sandbox: Sandbox) -> None:
    doomed = list(sandbox.ws.entries)[:2]
    response = await sandbox.client.post("/timeentries/delete", json={"ids": doomed})
    assert response.status_code == 204
    assert not set(doomed) & set(sandbox.ws.entries)


async def test_delete_with_an_unknown_id_is_400_and_deletes_nothing(sandbox: Sandbox) -> None:
    kept = next(iter(sandbox.ws.entries))
    response = await sandbox.client.post("/timeentries/delete", json={"ids": [kept, UNKNOWN_ID]})
    assert (response.status_code, response.json()["details"]) == (400, [UNKNOWN_ID])
    assert kept in sandbox.ws.entries


async def test_setunbilled_refuses_only_with_what_it_publishes(sandbox: Sandbox) -> None:
    """Its published answers are 204 and 400: an unknown or an unauthorized id is a 400."""
    entry_id, denied = [i for i, e in sandbox.ws.entries.items() if e["isBilled"]][:2]
    sandbox.ws.unauthorized_ids.add(denied)
    for ids in ([entry_id, UNKNOWN_ID], [entry_id, denied]):
        response = await sandbox.client.post("/timeentries/setunbilled", json={"ids": ids})
        assert response.status_code == 400
        assert sandbox.ws.entries[entry_id]["isBilled"] is True
