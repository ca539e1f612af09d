"""Prometheus metrics of the web app and of a worker, scraped over HTTP after a burst: the
counters moved by exactly what happened (checked against the sandbox and the audit log)."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from service.sandbox import envelope, seed_workspace
from tests.support.config import make_settings
from tests.support.pipeline import post_events, quiet
from tests.support.processes import free_port
from tests.support.records import audit_rows
from workers.cli.stack import local_stack

PERSON = {"id": "0b9c8a41-2222-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Pat", "lastName": "P"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and want <= set(ls))


async def test_counters_after_a_burst(prefix: str, rules_file: Path, redis: Redis) -> None:
    port = free_port()
    settings = make_settings(prefix, rules_file, worker_metrics_port=port)
    async with local_stack(settings, seed_workspace(entries=80, seed=6)) as stack:
        stack.sandbox.reset_calls()
        entries = list(stack.sandbox.workspace.entries.values())
        events = [
            envelope("timetracking_updated", e, triggered_by=PERSON, changes=None) for e in entries
        ]
        bad = await post_events(stack.web_url, events[:3])  # duplicates of the first three
        assert set(await post_events(stack.web_url, events)) == {202}
        await quiet(redis, prefix, stack.sandbox)
        async with httpx.AsyncClient() as client:
            web = samples((await client.get(f"{stack.web_url}/metrics")).text)
            worker = samples((await client.get(f"http://127.0.0.1:{port}/metrics")).text)
        echoes = sum(1 for d in stack.sandbox.deliveries if d.ok)
        sandbox = stack.sandbox
        rows = await audit_rows(redis, prefix, count=10_000)
    assert set(bad) == {202}
    name = "awork_billing_webhooks_total"
    assert total(web, name, outcome="queued") == 80 + echoes
    assert total(web, name, outcome="duplicate") == 3
    assert total(web, "awork_billing_queue_pending_entries") == 0
    calls = "awork_billing_awork_calls_total"
    assert total(worker, calls, status="207") == sandbox.count(
        "POST", "/timeentries/batch/{operation}", 207
    )
    assert total(worker, calls, operation="timeentries", status="200") == sandbox.count(
        "GET", "/timeentries", 200
    )
    applied = [r for r in rows if r["outcome"] == "applied"]
    assert total(worker, "awork_billing_changes_total") == len(applied) > 0
    assert total(worker, "awork_billing_jobs_total", function="flush", outcome="success") >= 1
    # echoes of one entry within a window merge into one queued entry
    assert 0 < total(worker, "awork_billing_entries_total", outcome="echo") <= echoes
