from __future__ import annotations

import pytest

from service.sandbox.contract import load_contract
from tests.service.sandbox.helpers import UNKNOWN_ID, Sandbox


@pytest.mark.parametrize("path", ["/me", "/users/me"])
async def test_me_is_the_api_user(sandbox: Sandbox, path: str) -> None:
    response = await sandbox.client.get(path)
    body = response.json()
    load_contract().check("UserAndWorkspace", body)
    assert body["id"] == sandbox.ws.api_user["id"]
    assert body["workspace"]["id"] == sandbox.ws.id


async def test_types_of_work_hide_archived_ones_unless_asked(sandbox: Sandbox) -> None:
    active = await sandbox.client.get("/typeofwork", params={"pageSize": 100})
    names = {t["name"] for t in active.json()}
    assert names == {"Development", "Design", "Meeting", "Consulting", "Internal"}
    everything = await sandbox.client.get(
        "/typeofwork", params={"pageSize": 100, "showArchived": "true"}
    )
    assert len(everything.json()) == 6
    for item in everything.json():
        load_contract().check("TypeOfWork", item)
    by_name = await sandbox.client.get("/typeofwork", params={"filterby": "name eq 'Meeting'"})
    assert [t["name"] for t in by_name.json()] == ["Meeting"]


@pytest.mark.parametrize(
    ("path", "table", "schema"),
    [
        ("/projects", "projects", "Project"),
        ("/tasks", "tasks", "TaskModel"),
        ("/companies", "companies", "Company"),
    ],
)
async def test_entities_by_id(sandbox: Sandbox, path: str, table: str, schema: str) -> None:
    entity = next(iter(getattr(sandbox.ws, table).values()))
    response = await sandbox.client.get(f"{path}/{entity['id']}")
    computed = {"trackedDuration"} if table == "projects" else set()  # from the entries
    assert {k: v for k, v in response.json().items() if k not in computed} == entity
    load_contract().check(schema, response.json())
    assert "tags" in entity
    missing = await sandbox.client.get(f"{path}/{UNKNOWN_ID}")
    assert (missing.status_code, missing.json()["code"]) == (404, "not-found")


async def test_a_project_shows_retainer_tags_custom_fields_and_status(sandbox: Sandbox) -> None:
    retainer = next(p for p in sandbox.ws.projects.values() if p["isRetainer"])
    body = (await sandbox.client.get(f"/projects/{retainer['id']}")).json()
    assert body["projectType"]["name"] == "Retainer"
    assert body["projectStatus"]["type"] == "progress"
    assert {t["name"] for t in body["tags"]} == {"retainer"}
    definitions = (
        await sandbox.client.get("/customfielddefinitions", params={"pageSize": 50})
    ).json()
    names = {d["id"]: d["name"] for d in definitions}
    assert {names[f["customFieldDefinitionId"]] for f in body["customFields"]} == {
        "Billing model",
        "Cost center",
    }
