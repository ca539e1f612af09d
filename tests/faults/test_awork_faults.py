"""awork misbehaving — errors, 429 bursts, slow answers; duplicate and stale deliveries; no webhooks
at all — and the workspace still ends exactly where the rules say, with nothing left queued.

The web app runs as its own process (`awork-billing serve`); the worker runs in this process so
that its metrics can be read; the sandbox is awork.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.sandbox import Faults, create_sandbox, envelope, running, seed_workspace
from tests.faults.harness import (
    Clock,
    Figures,
    Sender,
    converge,
    duplicate_writes,
    errors_answered,
    lost,
    updates,
)
from tests.support.config import make_settings
from tests.support.pipeline import pending_changes, resolved_rules
from tests.support.processes import web_process
from tests.support.records import dead_letters
from workers.cli.stack import worker_running

pytestmark = pytest.mark.faults


async def test_errors_429_bursts_and_timeouts_from_awork(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    ws = seed_workspace(entries=600, seed=24)
    sandbox_app = create_sandbox(ws)
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix,
            rules_file,
            awork_api_url=url,
            reconcile_interval_seconds=0,
            awork_timeout_seconds=1.0,
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        async with web_process(settings) as web_url, worker_running(settings) as worker:
            sandbox.faults.update(
                {
                    "error_rate": 0.2,
                    "slow_rate": 0.05,
                    "slow_seconds": 1.5,
                    "force_429": 3,
                    "reset_seconds": 1,
                }
            )
            clock = Clock()
            sender = Sender(web_url, concurrency=8, pause=0.01)
            sending = asyncio.create_task(sender.send(updates(ws)))
            await asyncio.sleep(1.5)
            sandbox.faults.update({"force_429": 3})  # a second burst of 429s mid-way
            await sending
            await converge(redis, prefix, sandbox, rules, timeout=90)
            metrics = worker.ctx["process"].metrics
            timeouts = sum(
                metrics.value("awork_billing_awork_calls_total", operation=op, status="timeout")
                for op in ("timeentries", "setIsBillable", "setIsBilled", "setTypeOfWork")
            )
    dead = await dead_letters(redis, prefix)
    missing = lost(sandbox, rules, sender.accepted_ids)
    answered = errors_answered(sandbox)
    report(
        Figures(
            "awork: 20% 500/503, 429 bursts, 5% answers past the 1 s client timeout",
            len(ws.entries),
            sender.accepted,
            missing,
            await duplicate_writes(redis, prefix),
            answered + int(timeouts),
            0,
            clock(),
            f"{answered} calls refused ({sandbox.count(status=429)} with 429) + {int(timeouts)} "
            f"timed out; {len(dead)} dead letters",
        )
    )
    assert missing == 0
    assert dead == []
    assert sandbox.count(status=429) >= 3  # the second burst only if work was left for it


async def test_duplicate_and_stale_deliveries(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    """10 % of the deliveries twice; for 10 % of the entries someone changed them again and the
    webhook of the older version arrives after the newer one."""
    ws = seed_workspace(entries=800, seed=25)
    rng = random.Random(25)
    ids = list(ws.entries)
    person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
    stale_ids = rng.sample(ids, len(ids) // 10)
    stale = updates(ws, stale_ids)  # as they were before the second change
    for entry_id in stale_ids:  # a note that makes it a meeting
        ws.update_entry(
            entry_id, {"note": f"{ws.entries[entry_id].get('note') or ''} call"}, by=person
        )
    newer = [
        envelope("timetracking_updated", ws.entries[i], triggered_by=person, changes=None)
        for i in ids
    ]
    again = rng.sample(newer, len(newer) // 10)
    sandbox_app = create_sandbox(ws)
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix, rules_file, awork_api_url=url, reconcile_interval_seconds=0
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        async with web_process(settings) as web_url, worker_running(settings):
            clock = Clock()
            sender = Sender(web_url)
            mixed = newer + again
            rng.shuffle(mixed)
            await sender.send(mixed)
            await asyncio.sleep(0.5)  # the stale ones arrive later, some after their flush
            await sender.send(stale)
            await converge(redis, prefix, sandbox, rules, timeout=60)
            writes = sandbox.count("POST")
    events = len(mixed) + len(stale)
    duplicates = await duplicate_writes(redis, prefix)
    missing = lost(sandbox, rules, sender.accepted_ids)
    report(
        Figures(
            "10% duplicate deliveries, 10% stale versions after newer ones",
            events,
            sender.accepted,
            missing,
            duplicates,
            errors_answered(sandbox),
            0,
            clock(),
            f"{sender.answers['duplicate']} answered duplicate; {writes} bulk writes",
        )
    )
    assert sender.accepted == events
    assert sender.answers["duplicate"] >= len(again)
    assert missing == 0
    assert duplicates == 0


async def test_without_webhooks_the_reconcile_sweep_alone_converges(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    """No webhook is registered and none is sent: people change entries over a few seconds and
    the periodic reconciliation finds every change (first run: a long look-back over the seed)."""
    ws = seed_workspace(entries=600, seed=26)
    sandbox_app = create_sandbox(ws, faults=Faults(echo_webhooks=False))
    sandbox = sandbox_app.state.sandbox
    person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix,
            rules_file,
            awork_api_url=url,
            reconcile_interval_seconds=1,
            reconcile_lookback_hours=24 * 365,
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        assert pending_changes(sandbox, rules)
        clock = Clock()
        async with worker_running(settings):
            changed: list[str] = []
            for wave in range(3):  # people at work while the sweep runs
                for entry_id in random.Random(wave).sample(list(ws.entries), 40):
                    entry = ws.entries[entry_id]
                    ws.update_entry(entry_id, {"isBillable": not entry["isBillable"]}, by=person)
                    changed.append(entry_id)
                await asyncio.sleep(1.0)
            await converge(redis, prefix, sandbox, rules, timeout=60)
        runs = sum(1 for c in sandbox.calls if "updatedOn" in c.query)
    assert len(sandbox.deliveries) == 0  # not one webhook
    report(
        Figures(
            "webhooks off: people change 120 entries, reconcile sweep only",
            0,
            0,
            len({c.entry_id for c in pending_changes(sandbox, rules)}),
            await duplicate_writes(redis, prefix),
            errors_answered(sandbox),
            0,
            clock(),
            f"{len(set(changed))} entries changed by people; {runs} reconcile reads",
        )
    )
    assert pending_changes(sandbox, rules) == []
