"""The web app comes up without Redis (a pod may start before it): alive at once, not ready and
no webhook accepted until Redis answers — then ready, accepting, and warning about persistence."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import orjson
import pytest

from service.app import create_app
from service.contract.settings import Settings
from service.sandbox import envelope, running, seed_workspace
from tests.faults.harness import RedisServer
from tests.support.config import WEBHOOK_TOKEN

HEADERS = {"X-Webhook-Token": WEBHOOK_TOKEN, "Content-Type": "application/json"}
PERSON = {"id": "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Carla", "lastName": "C"}
ENTRY = next(iter(seed_workspace(entries=3, seed=3).entries.values()))


async def ready(web: httpx.AsyncClient, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (await web.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "/readyz did not turn 200 after Redis came up"
        await asyncio.sleep(0.1)


async def test_starts_without_redis_and_serves_once_it_answers(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path / "redis")  # its port: nothing listens there yet
    later = settings.model_copy(update={"redis_url": server.url})
    body = orjson.dumps(envelope("timetracking_updated", ENTRY, triggered_by=PERSON, changes=None))
    caplog.set_level(logging.INFO)
    try:
        started = time.monotonic()
        async with running(create_app(later)) as url, httpx.AsyncClient(base_url=url) as web:
            assert time.monotonic() - started < 10, "start-up waited for Redis"
            assert (await web.get("/livez")).status_code == 200
            assert (await web.get("/readyz")).status_code == 503
            refused = await web.post("/webhooks/awork", content=body, headers=HEADERS)
            assert refused.status_code == 503
            await server.start()
            await ready(web)
            accepted = await web.post("/webhooks/awork", content=body, headers=HEADERS)
            assert (accepted.status_code, accepted.json()) == (202, {"status": "queued"})
            deadline = time.monotonic() + 30
            while "no persistence" not in caplog.text:  # warned once Redis could be asked
                assert time.monotonic() < deadline, caplog.text
                await asyncio.sleep(0.1)
    finally:
        server.stop()
    assert "Redis is not reachable yet" in caplog.text
