"""`POST /webhooks/awork` and the operational routes, over real HTTP with a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from service.app import create_app
from service.contract import Keys, PendingRecord
from service.contract.settings import Settings
from service.sandbox import envelope, running, seed_workspace
from tests.support.config import WEBHOOK_TOKEN

HEADERS = {"X-Webhook-Token": WEBHOOK_TOKEN, "Content-Type": "application/json"}
PERSON = {"id": "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Carla", "lastName": "C"}
ENTRIES = list(seed_workspace(entries=20, seed=3).entries.values())


def event(n: int = 0, event_type: str = "timetracking_updated", **kw: Any) -> dict[str, Any]:
    return envelope(event_type, ENTRIES[n], triggered_by=PERSON, changes=None, **kw)


async def post(web: httpx.AsyncClient, body: object, headers: dict[str, str] = HEADERS) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await web.post("/webhooks/awork", content=content, headers=headers)


async def own_keys(redis: Redis, prefix: str) -> list[bytes]:
    return [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)] + [
        k async for k in redis.scan_iter(match=f"arq:*:{prefix}:*", count=1000)
    ]


async def test_time_entry_event_is_queued_with_a_flush_job(
    web: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    response = await post(web, event(0))
    assert (response.status_code, response.json()) == (202, {"status": "queued"})
    keys = Keys(prefix)
    record = PendingRecord.from_json(await redis.hget(keys.pending, ENTRIES[0]["id"]))  # type: ignore[misc]
    assert record.version == ENTRIES[0]["resourceVersion"]
    assert record.by == [PERSON["id"]]
    assert await redis.zcard(keys.queue) == 1


async def test_redelivery_is_a_duplicate(web: httpx.AsyncClient) -> None:
    body = event(1)
    assert (await post(web, body)).json() == {"status": "queued"}
    again = await post(web, body)
    assert (again.status_code, again.json()) == (202, {"status": "duplicate"})


async def test_events_of_one_entry_keep_the_newest_version(
    web: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    newer, older = event(2), event(2)
    newer["entity"]["resourceVersion"] += 10
    older["timestamp"] = older["timestamp"].replace("+00:00", "1+00:00")
    await post(web, newer)
    await post(web, older)
    raw = await redis.hget(Keys(prefix).pending, ENTRIES[2]["id"])  # type: ignore[misc]
    assert PendingRecord.from_json(raw).version == ENTRIES[2]["resourceVersion"] + 10


async def test_other_event_types_are_ignored(
    web: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    body = {"eventType": "project_updated", "entityId": "x", "entity": {"id": "not-a-guid"}}
    response = await post(web, body)
    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    assert await own_keys(redis, prefix) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"X-Webhook-Token": "wrong", "Content-Type": "application/json"},
        {"X-Webhook-Token": "", "Content-Type": "application/json"},
    ],
)
async def test_wrong_or_missing_token_is_401(
    web: httpx.AsyncClient, redis: Redis, prefix: str, headers: dict[str, str]
) -> None:
    response = await post(web, event(0), headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert await own_keys(redis, prefix) == []


async def test_non_json_content_type_is_415(web: httpx.AsyncClient) -> None:
    headers = {**HEADERS, "Content-Type": "text/plain"}
    assert (await post(web, event(0), headers)).status_code == 415


async def test_body_over_the_limit_is_413_with_or_without_length(
    settings: Settings, redis: Redis, prefix: str
) -> None:
    small = settings.model_copy(update={"webhook_max_bytes": 2000})
    body = orjson.dumps(event(0))
    assert len(body) > 2000

    async def chunked() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 500):
            yield body[i : i + 500]

    async with running(create_app(small)) as url, httpx.AsyncClient(base_url=url) as web:
        sized = await web.post("/webhooks/awork", content=body, headers=HEADERS)
        streamed = await web.post("/webhooks/awork", content=chunked(), headers=HEADERS)
    assert sized.status_code == 413
    assert streamed.status_code == 413
    assert await own_keys(redis, prefix) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "invalid envelope"),
        ({"entityId": "x"}, "missing field"),
        ({"eventType": 5, "entityId": "x"}, "invalid field"),
        ({"eventType": "timetracking_updated", "entityId": "x"}, "invalid envelope"),
        ({"eventType": "timetracking_updated", "entityId": "x", "entity": {}}, "missing field"),
        (
            {"eventType": "timetracking_added", "entityId": "x", "entity": {"id": "nope"}},
            "invalid field",
        ),
    ],
)
async def test_bad_bodies_are_400_and_name_the_problem(
    web: httpx.AsyncClient, redis: Redis, prefix: str, body: object, problem: str
) -> None:
    response = await post(web, body)
    assert response.status_code == 400
    assert response.json()["error"] == problem
    assert response.json()["detail"]
    assert await own_keys(redis, prefix) == []


async def test_liberal_in_what_it_accepts(web: httpx.AsyncClient) -> None:
    body = event(3)
    body.pop("changes", None)
    body["triggeredBy"] = {**PERSON, "email": "c@example.com", "userContactInfos": []}
    entity = body["entity"]
    entity.pop("endDateUtc", None)
    entity.pop("endTimeUtc", None)
    entity["startTimeUtc"] = "13:08:51.8220632"
    if isinstance(entity.get("project"), dict):
        entity["project"]["key"] = entity["project"].pop("projectKey", "K")
        entity["project"]["companyId"] = "not-a-guid"
    response = await post(web, body)
    assert response.status_code == 202


async def test_authorization_bearer_when_the_header_is_authorization(
    settings: Settings,
) -> None:
    bearer = settings.model_copy(update={"webhook_token_header": "Authorization"})
    async with running(create_app(bearer)) as url, httpx.AsyncClient(base_url=url) as web:
        ok = await post(
            web,
            event(4),
            {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"},
        )
        bad = await post(
            web, event(5), {"Authorization": "Bearer nope", "Content-Type": "application/json"}
        )
    assert (ok.status_code, bad.status_code) == (202, 401)


async def test_rotated_tokens_are_all_accepted(settings: Settings) -> None:
    from pydantic import SecretStr

    two = settings.model_copy(update={"webhook_token": SecretStr(f"old-one, {WEBHOOK_TOKEN}")})
    async with running(create_app(two)) as url, httpx.AsyncClient(base_url=url) as web:
        first = await post(web, event(6), {**HEADERS, "X-Webhook-Token": "old-one"})
        second = await post(web, event(7))
    assert (first.status_code, second.status_code) == (202, 202)


async def test_redis_unreachable_is_503_and_not_ready(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with running(create_app(down)) as url, httpx.AsyncClient(base_url=url) as web:
        response = await post(web, event(0))
        ready = await web.get("/readyz")
        live = await web.get("/livez")
        metrics = await web.get("/metrics")
    assert response.status_code == 503
    assert ready.status_code == 503
    assert live.status_code == 200
    # the counters are served; the queue is unknown, not an empty queue that reads as healthy
    assert metrics.status_code == 200
    assert 'outcome="unavailable"} 1.0' in metrics.text
    assert "awork_billing_queue_queued_entries NaN" in metrics.text
    assert "awork_billing_dead_letters NaN" in metrics.text


async def test_health_queue_and_metrics(web: httpx.AsyncClient) -> None:
    body = event(8)
    await post(web, body)
    await post(web, body)
    await post(web, event(9), {**HEADERS, "X-Webhook-Token": "wrong"})
    assert (await web.get("/readyz")).json() == {"status": "ready"}
    queue = (await web.get("/queue")).json()
    assert queue["pending_entries"] == 1
    text = (await web.get("/metrics")).text
    assert (
        'awork_billing_webhooks_total{event_type="timetracking_updated",outcome="queued"} 1.0'
        in text
    )
    assert 'outcome="duplicate"} 1.0' in text
    assert 'awork_billing_webhooks_total{event_type="unknown",outcome="unauthorized"} 1.0' in text
    assert "awork_billing_queue_pending_entries 1.0" in text
    assert "awork_billing_queue_queued_entries 1.0" in text
