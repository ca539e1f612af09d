"""Scale-out on one Redis: 2 web processes and 3 worker processes under a 5,000-event fan-out
stay inside awork's rate limit together, write no change twice for one decision, and converge."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.sandbox import create_sandbox, running, seed_workspace
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
from tests.support.pipeline import resolved_rules
from tests.support.processes import web_process, worker_process

pytestmark = pytest.mark.faults

WEBS, WORKERS, EVENTS = 2, 3, 5000


def peak_per_second(times: list[float]) -> int:
    """The most calls awork saw in any one second (a sliding window)."""
    times, peak, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


async def test_two_web_apps_and_three_workers_share_one_rate_limit(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    ws = seed_workspace(entries=EVENTS, seed=41)
    sandbox_app = create_sandbox(ws)
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url, contextlib.AsyncExitStack() as stack:
        settings = make_settings(
            prefix,
            rules_file,
            awork_api_url=url,
            reconcile_interval_seconds=0,
            coalesce_window_seconds=1.0,
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        webs = [await stack.enter_async_context(web_process(settings)) for _ in range(WEBS)]
        for _ in range(WORKERS):
            await stack.enter_async_context(worker_process(settings))
        sandbox.reset_calls()
        clock = Clock()
        events = updates(ws)
        senders = [Sender(web, concurrency=8, pause=0) for web in webs]
        await asyncio.gather(*(s.send(events[i::WEBS]) for i, s in enumerate(senders)))
        await converge(redis, prefix, sandbox, rules, timeout=120)
        seconds = clock()
        calls = list(sandbox.calls)
        too_many = sum(1 for c in calls if c.status == 429)
        peak = peak_per_second([c.time for c in calls])
        duplicates = await duplicate_writes(redis, prefix)
    accepted = {i for s in senders for i in s.accepted_ids}
    missing = lost(sandbox, rules, accepted)
    report(
        Figures(
            f"{WEBS} web processes + {WORKERS} workers on one Redis, {EVENTS:,}-event fan-out",
            EVENTS,
            sum(s.accepted for s in senders),
            missing,
            duplicates,
            errors_answered(sandbox),
            0,
            seconds,
            f"{len(calls)} awork calls, peak {peak}/s (limit: 40/s our share of 50), "
            f"{too_many} × 429",
        )
    )
    assert missing == 0
    assert duplicates == 0
    assert too_many <= 3
    assert peak <= 41  # settings: AWORK_RATE_PER_SECOND=40 for all workers together
