from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from service.sandbox import create_sandbox, running, seed_workspace
from service.sandbox.conformance import Conformance
from tests.service.sandbox.helpers import AUTH

ENTRY = "/timeentries/{id}"


@pytest.fixture(scope="module")
def conformance() -> Conformance:
    return Conformance()


def _entry() -> dict[str, Any]:
    entry = next(iter(seed_workspace(entries=5, seed=3).entries.values()))
    entry.get("project", {}).pop("key", None)
    return entry


def test_a_matching_answer_has_no_problems(conformance: Conformance) -> None:
    body = orjson.dumps(_entry())
    assert conformance.problems("GET", ENTRY, 200, body) == []
    assert conformance.problems("GET", "/timeentries", 200, orjson.dumps([_entry()])) == []
    assert conformance.problems("DELETE", ENTRY, 204, b"") == []


def test_wrong_shapes_are_named(conformance: Conformance) -> None:
    entry = {**_entry(), "isBillable": "yes", "surprise": 1}
    problems = conformance.problems("GET", ENTRY, 200, orjson.dumps(entry))
    assert any(p.startswith("isBillable") for p in problems)
    assert "surprise: Unknown property 'surprise'." in problems


def test_statuses_are_checked(conformance: Conformance) -> None:
    assert conformance.problems("GET", ENTRY, 201, b"{}") == [
        "status 201 is not documented for GET /timeentries/{id}"
    ]
    not_an_error = conformance.problems("GET", ENTRY, 404, b'{"message": "gone"}')
    assert "code: The code field is required." in not_an_error
    assert conformance.problems("DELETE", ENTRY, 204, b"{}") != []


def test_the_old_project_key_is_tolerated(conformance: Conformance) -> None:
    entry = _entry()
    entry["project"] = {**entry["project"], "key": "NWS"}
    assert conformance.problems("GET", ENTRY, 200, orjson.dumps(entry)) == []


def test_only_published_routes_are_checked(conformance: Conformance) -> None:
    assert conformance.describes("GET", "/timeentries/{id}")
    assert conformance.describes("POST", "/timeentries/batch/{operation}")
    assert not conformance.describes("GET", "/customfielddefinitions")
    assert not conformance.describes("GET", None)


async def test_a_broken_answer_fails_loudly() -> None:
    ws = seed_workspace(entries=5, seed=3)
    entry_id = next(iter(ws.entries))
    ws.entries[entry_id]["isBillable"] = "maybe"
    app = create_sandbox(ws, check_responses=True)
    async with running(app) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        response = await client.get(f"/timeentries/{entry_id}")
        listed = await client.get("/timeentries")
    assert (response.status_code, response.json()["code"]) == (500, "server-error")
    assert "isBillable" in response.json()["description"]
    assert listed.status_code == 500
    assert len(app.state.sandbox.violations) == 2
    assert response.headers["Trace-Id"] == response.json()["traceId"]


def test_the_environment_switches_checking_on(monkeypatch: pytest.MonkeyPatch) -> None:
    ws = seed_workspace(entries=1)
    monkeypatch.delenv("SANDBOX_CHECK_RESPONSES", raising=False)
    assert create_sandbox(ws).state.sandbox.check_responses is False
    monkeypatch.setenv("SANDBOX_CHECK_RESPONSES", "1")
    assert create_sandbox(ws).state.sandbox.check_responses is True
    assert create_sandbox(ws, check_responses=False).state.sandbox.check_responses is False
