"""A project, task or company change re-evaluates its entries in pages that stay put, within the
flush's time: out of time, the change goes back to the queue with the page to go on at."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from redis.asyncio import Redis

from service.contract import Keys, PendingRecord
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.support.config import make_settings
from tests.support.worker import billing_for
from workers.apply import Batch
from workers.jobs import entities

RULES = """
version: 1
rules:
  - name: retainers-are-billed
    when: {project.isRetainer: true}
    then: {billable: true, billed: true}
"""


async def test_out_of_time_the_change_goes_back_and_goes_on_where_it_stopped(
    prefix: str, tmp_path: Path, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    ws = seed_workspace(entries=60, seed=3)
    project = next(p for p in ws.projects.values() if p.get("companyId"))
    project["isRetainer"] = True
    faults = Faults(slow_rate=1.0, slow_seconds=0.3, echo_webhooks=False)
    monkeypatch.setattr(entities, "PAGE_SIZE", 2)  # pages of two entries
    key = f"project:{project['id']}"
    sandbox_app = create_sandbox(ws, faults=faults)
    async with running(sandbox_app) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with billing_for(settings, redis) as billing:
            record = PendingRecord(version=5, event="project_updated", by=["someone"])
            batch = Batch(job_id="j", deadline=time.monotonic() + 1.0)
            await entities.refresh(billing.process, billing, {key: record}, batch)
            assert batch.counts["entity_handed_back"] == 1
            pending = await redis.hgetall(Keys(prefix).pending)  # type: ignore[misc]
            back = PendingRecord.from_json(pending[key.encode()])
            assert (back.version, back.event) == (5, "project_updated")
            assert back.page >= 1
            faults.update({"slow_rate": 0.0})
            sandbox_app.state.sandbox.reset_calls()
            await entities.refresh(billing.process, billing, {key: back}, Batch(job_id="k"))
    pages = [
        int(parse_qs(c.query)["page"][0])
        for c in sandbox_app.state.sandbox.calls
        if c.method == "GET" and c.template == "/timeentries"
    ]
    assert min(pages) == back.page  # went on where it stopped, not from the start
    finished = [
        e for e in ws.entries.values() if e.get("projectId") == project["id"] and e["duration"]
    ]
    assert all(e["isBilled"] for e in finished)


async def test_a_change_the_service_made_itself_is_an_echo(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    async with running(create_sandbox(seed_workspace(entries=10, seed=3))) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url)
        async with billing_for(settings, redis) as billing:
            record = PendingRecord(version=1, event="project_updated", by=[billing.me])
            batch = Batch(job_id="j")
            key = "project:5d9b8a41-2222-4d4b-9e7f-0d6a8c1b2a10"
            await entities.refresh(billing.process, billing, {key: record}, batch)
    assert batch.counts == {"echo": 1}
