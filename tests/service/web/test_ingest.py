"""What one accepted webhook leaves in Redis: its entry's record in `pending` (the version, who
changed it, and which of the properties that lock a billing attribute they changed)."""

from __future__ import annotations

import httpx
import orjson
from redis.asyncio import Redis

from service.contract import Keys, PendingRecord
from service.sandbox import envelope, seed_workspace
from tests.support.config import WEBHOOK_TOKEN

HEADERS = {"X-Webhook-Token": WEBHOOK_TOKEN, "Content-Type": "application/json"}
PERSON = {"id": "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Carla", "lastName": "C"}
ENTRY = next(iter(seed_workspace(entries=3, seed=3).entries.values()))


async def test_the_record_holds_who_changed_what_can_lock(
    web: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    changes = [{"property": p, "old": "a", "new": "b"} for p in ("Note", "IsBillable", "Duration")]
    changes.append({"property": "TypeOfWorkId", "old": "", "new": "x"})
    body = envelope("timetracking_updated", ENTRY, triggered_by=PERSON, changes=changes)
    response = await web.post("/webhooks/awork", content=orjson.dumps(body), headers=HEADERS)
    assert response.status_code == 202
    raw = await redis.hget(Keys(prefix).pending, ENTRY["id"])  # type: ignore[misc]
    record = PendingRecord.from_json(raw)
    assert record.version == ENTRY["resourceVersion"]
    assert record.by == [PERSON["id"]]
    assert record.changed == [f"{PERSON['id']}|IsBillable", f"{PERSON['id']}|TypeOfWorkId"]
    assert record.first_seen_ms > 0
