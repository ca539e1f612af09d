"""A client written only from awork's published API: after starting the sandbox it uses nothing but
HTTP — it creates, edits, bills and deletes a time entry, and receives the webhooks at a
receiver of its own. Answers and webhook entities are checked against the published schemas by
a validator of its own (the OpenAPI file read directly), not by the sandbox's `contract`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import MEMBER_TOKEN, create_sandbox, running, seed_workspace

EVENTS = "timetracking_added,timetracking_updated,timetracking_deleted,timetracking_type_changed"


def _published() -> dict[str, Any]:
    text = resources.files("service.sandbox").joinpath("openapi-v1-subset.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def _nullable(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable` in JSON Schema terms."""
    if isinstance(schema, list):
        return [_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: _nullable(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable") and "type" in result:
        result["type"] = [result["type"], "null"]
    elif schema.get("nullable") and "$ref" in result:
        result = {"anyOf": [{"$ref": result.pop("$ref")}, {"type": "null"}]}
    return result


SCHEMAS = _nullable(_published()["components"]["schemas"])


def check(name: str, instance: Any) -> None:
    schema = {"components": {"schemas": SCHEMAS}, "$ref": f"#/components/schemas/{name}"}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(instance)]
    assert errors == [], f"{name}: {errors}"


class Inbox:
    """The receiver: keeps every webhook POSTed to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._arrived = asyncio.Event()
        self.url = ""

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.json()))
        self._arrived.set()
        return Response(status_code=200)

    async def wait_for(self, event_type: str, entity_id: str) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                for _, body in self.received:
                    if (body["eventType"], body["entityId"]) == (event_type, entity_id):
                        return body
                self._arrived.clear()
                await self._arrived.wait()


@pytest.fixture
async def awork() -> AsyncIterator[tuple[httpx.AsyncClient, Inbox]]:
    inbox = Inbox()
    receiver = Starlette(routes=[Route("/awork", inbox.endpoint, methods=["POST"])])
    sandbox = create_sandbox(seed_workspace(entries=60, seed=11), check_responses=True)
    async with running(receiver) as receiver_url, running(sandbox) as api_url:
        inbox.url = f"{receiver_url}/awork"
        auth = {"Authorization": "Bearer sandbox-token"}
        async with httpx.AsyncClient(base_url=api_url, headers=auth) as client:
            yield client, inbox


async def _json(response: httpx.Response, status: int, schema: str | None) -> Any:
    assert response.status_code == status, response.text
    body = response.json() if response.content else None
    if schema is not None:
        check(schema, body)
    return body


async def test_create_edit_bill_delete_with_webhooks(
    awork: tuple[httpx.AsyncClient, Inbox],
) -> None:
    client, inbox = awork
    me = await _json(await client.get("/me"), 200, "UserAndWorkspace")
    types = await _json(await client.get("/typeofwork", params={"pageSize": 100}), 200, None)
    type_ids = {t["name"]: t["id"] for t in types}
    projects = await client.get("/projects", params={"filterby": "name eq 'Nordlicht Webshop'"})
    (project,) = await _json(projects, 200, None)
    check("Project", project)
    hook = {"name": "billing", "uri": inbox.url, "events": EVENTS, "isActive": True}
    hook |= {"authenticationType": "header", "authentication": "X-Hook-Token=abc"}
    hook_id = (await _json(await client.post("/webhooks", json=hook), 200, "WebhookConfig"))["id"]

    form = {
        "timezone": "Europe/Berlin",
        "typeOfWorkId": type_ids["Design"],
        "userId": me["id"],
        "projectId": project["id"],
        "startDateUtc": "2026-11-24T00:00:00Z",
        "startTimeUtc": "08:00:00",
        "endDateUtc": "2026-11-24T00:00:00Z",
        "endTimeUtc": "09:15:00",
        "note": "Logo iterations",
    }
    entry = await _json(await client.post("/timeentries", json=form), 200, "TimeTracking")
    assert (entry["duration"], entry["startTimeLocal"]) == (4500, "09:00:00")
    assert entry["isBillable"] is project["isBillableByDefault"]
    added = await inbox.wait_for("timetracking_added", entry["id"])
    assert (
        await _json(await client.get(f"/timeentries/{entry['id']}"), 200, "TimeTracking") == entry
    )

    edit = {**form, "typeOfWorkId": type_ids["Meeting"], "note": "Logo review call"}
    edit |= {"isBillable": entry["isBillable"]}
    edited = await _json(await client.put(f"/timeentries/{entry['id']}", json=edit), 200, None)
    assert (edited["typeOfWork"]["name"], edited["note"]) == ("Meeting", "Logo review call")
    updated = await inbox.wait_for("timetracking_updated", entry["id"])
    retyped = await inbox.wait_for("timetracking_type_changed", entry["id"])
    assert {c["property"] for c in updated["changes"]} >= {"Note", "TypeOfWorkId"}

    bill = {"timeEntryIds": [entry["id"]], "isBilled": True}
    billed = await client.post("/timeentries/batch/setIsBilled", json=bill)
    assert (await _json(billed, 207, "MultiStatusResult"))["ok"]["ids"] == [entry["id"]]
    member = {"Authorization": f"Bearer {MEMBER_TOKEN}"}
    refused = await client.delete(f"/timeentries/{entry['id']}", headers=member)
    assert (await _json(refused, 401, "ErrorResponse"))["code"] == "unauthorized"
    assert (await client.delete(f"/timeentries/{entry['id']}")).status_code == 204
    deleted = await inbox.wait_for("timetracking_deleted", entry["id"])
    gone = await client.get(f"/timeentries/{entry['id']}")
    await _json(gone, 404, "ErrorResponse")

    webhooks = [body for _, body in inbox.received]
    assert {b["eventType"] for b in webhooks} == set(EVENTS.split(","))
    assert all(headers["x-hook-token"] == "abc" for headers, _ in inbox.received)
    for body in webhooks:
        assert body["triggeredBy"]["id"] == me["id"]  # the service's own writes: skip them
        assert body["entityType"] == "timetracking"
        entity = {k: v for k, v in body["entity"].items() if k not in ("deletedOn", "deletedBy")}
        check("TimeTracking", entity)
    assert {"property": "IsBilled", "old": "False", "new": "True"} in [
        c for b in webhooks if b["eventType"] == "timetracking_updated" for c in b["changes"]
    ]
    assert added["entity"]["note"] == "Logo iterations"
    assert retyped["entity"]["typeOfWorkId"] == type_ids["Meeting"]
    assert deleted["entity"]["deletedBy"] == me["id"]
    logs = await _json(
        await client.get(f"/webhooks/{hook_id}/logs", params={"pageSize": 50}), 200, None
    )
    assert logs
    for log in logs:
        check("WebhookLog", log)
    assert all(log["isSuccessful"] for log in logs)
