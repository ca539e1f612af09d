from __future__ import annotations

import asyncio

import httpx

from service.sandbox import Faults, Workspace
from service.sandbox.contract import load_contract
from tests.service.sandbox.helpers import Sandbox, open_sandbox


async def test_a_call_without_the_token_is_refused(sandbox: Sandbox) -> None:
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic sandbox-token"},
    ):
        response = await sandbox.client.get("/timeentries", headers=headers)
        assert response.status_code == 401
        body = response.json()
        load_contract().check("ErrorResponse", body)
        assert body["traceId"] == response.headers["Trace-Id"]
    async with httpx.AsyncClient(base_url=sandbox.url) as anonymous:
        assert (await anonymous.get("/me")).status_code == 401
    assert sandbox.state.count(status=401) == 4


async def test_every_answer_carries_a_trace_id(sandbox: Sandbox) -> None:
    answers = [
        await sandbox.client.get("/me"),
        await sandbox.client.get("/no/such/route"),
        await sandbox.client.get("/_sandbox/stats"),
    ]
    traces = {a.headers["Trace-Id"] for a in answers}
    assert len(traces) == 3
    assert answers[1].status_code == 404
    assert answers[1].json()["code"] == "not-found"


async def test_a_url_over_8_kib_is_refused(sandbox: Sandbox) -> None:
    ids = ",".join(f"guid'{entry_id}'" for entry_id in list(sandbox.ws.entries) * 4)
    response = await sandbox.client.get("/timeentries", params={"filterby": f"id in ({ids})"})
    assert response.status_code == 414
    short = ",".join(f"guid'{entry_id}'" for entry_id in list(sandbox.ws.entries)[:150])
    response = await sandbox.client.get(
        "/timeentries", params={"filterby": f"id in ({short})", "pageSize": 1000}
    )
    assert response.status_code == 200
    assert len(response.json()) == 60


async def test_calls_are_recorded_with_their_route(sandbox: Sandbox) -> None:
    entry_id = next(iter(sandbox.ws.entries))
    form = {"timeEntryIds": [entry_id], "isBillable": True}
    await sandbox.client.post("/timeentries/batch/setIsBillable", json=form)
    await sandbox.client.get("/timeentries", params={"pageSize": 5})
    await sandbox.client.get("/_sandbox/stats")
    first, second = sandbox.state.calls
    assert (first.method, first.template, first.status) == (
        "POST",
        "/timeentries/batch/{operation}",
        207,
    )
    assert first.path == "/timeentries/batch/setIsBillable"
    assert first.json == form
    assert (second.template, second.query, second.json) == ("/timeentries", "pageSize=5", None)
    assert sandbox.state.count("POST", "/timeentries/batch/{operation}") == 1
    sandbox.state.reset_calls()
    assert sandbox.state.count() == 0


async def test_the_rate_limit_answers_429_with_awork_headers(workspace: Workspace) -> None:
    async with open_sandbox(workspace, faults=Faults(rate_per_second=5)) as box:
        answers = await asyncio.gather(*(box.client.get("/me") for _ in range(8)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 5 + [429] * 3
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["code"] == "too-many-requests"
        assert refused.headers["ratelimit-limit"] == "5"
        assert refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["ratelimit-reset"] == "1"
        assert refused.headers["x-ratelimit-limit-second"] == "5"
        assert refused.headers["x-ratelimit-remaining-second"] == "0"
        assert refused.headers["x-ratelimit-limit-minute"] == "1000"
        assert refused.headers["x-ratelimit-remaining-minute"] == "995"
        ok = [a for a in answers if a.status_code == 200]
        assert sorted(a.headers["x-ratelimit-remaining-second"] for a in ok) == [
            "0",
            "1",
            "2",
            "3",
            "4",
        ]
        await asyncio.sleep(1.05)
        assert (await box.client.get("/me")).status_code == 200


async def test_the_minute_limit_reports_when_it_resets(workspace: Workspace) -> None:
    async with open_sandbox(workspace, faults=Faults(rate_per_minute=3)) as box:
        for _ in range(3):
            assert (await box.client.get("/me")).status_code == 200
        refused = await box.client.get("/me")
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-remaining-minute"] == "0"
        assert 55 <= int(refused.headers["ratelimit-reset"]) <= 60
        assert (await box.client.get("/_sandbox/stats")).status_code == 200


async def test_a_sandbox_bug_still_answers_an_error_response(sandbox: Sandbox) -> None:
    entry = next(iter(sandbox.ws.entries.values()))
    entry["projectId"] = ["not", "hashable"]  # breaks filter_view's lookup on purpose
    response = await sandbox.client.get("/timeentries", params={"filterby": "project/name eq 'x'"})
    assert response.status_code == 500
    assert response.json()["code"] == "server-error"
    assert response.json()["traceId"] == response.headers["Trace-Id"]
    assert sandbox.state.count(status=500) == 1
