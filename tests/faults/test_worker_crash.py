"""A worker process killed mid-batch (SIGKILL: OOM, node loss) loses nothing; one stopped with
SIGTERM (a deploy) finishes its running jobs first.

The real `awork-billing serve` and `awork-billing worker` as processes, the sandbox answering
slowly now and then so that a batch takes a while. arq re-runs a killed worker's job once its
in-progress key expires: `FLUSH_TIMEOUT_SECONDS` + 10 s (5 + 10 here); the flush finds its claim
(`<prefix>:claimed:<job id>`) and finishes it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.queue import HANDFUL
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.faults.harness import (
    Clock,
    Figures,
    Sender,
    converge,
    duplicate_writes,
    errors_answered,
    lost,
    updates,
    wait_for,
)
from tests.support.config import make_settings
from tests.support.pipeline import resolved_rules
from tests.support.processes import web_process, worker_process

pytestmark = pytest.mark.faults

FLUSH_TIMEOUT = 5
RECOVERY_BOUND = FLUSH_TIMEOUT + 10
"""arq's in-progress TTL: the longest function timeout + 10 s."""


async def test_a_worker_killed_mid_batch_loses_nothing(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    ws = seed_workspace(entries=1000, seed=21)
    sandbox_app = create_sandbox(ws, faults=Faults(slow_rate=0.3, slow_seconds=0.5))
    sandbox = sandbox_app.state.sandbox
    keys = Keys(prefix)
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix,
            rules_file,
            awork_api_url=url,
            reconcile_interval_seconds=0,
            flush_timeout_seconds=FLUSH_TIMEOUT,
            coalesce_window_seconds=0.5,
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        sender = Sender("")
        async with web_process(settings) as web_url:
            sender.url = f"{web_url}/webhooks/awork"
            async with worker_process(settings) as first:
                await wait_for(lambda: redis.exists(keys.me), 30, "the worker to start")
                clock = Clock()
                sending = asyncio.create_task(sender.send(updates(ws)))

                async def mid_batch() -> bool:
                    # a window's batch with work left, not a leading-edge handful that may be
                    # done before the kill lands
                    claims = await redis.smembers(keys.claims)  # type: ignore[misc]
                    sizes = [await redis.hlen(c) for c in claims]  # type: ignore[misc]
                    return sandbox.count("POST") > 0 and max(sizes, default=0) > HANDFUL

                await wait_for(mid_batch, 30, "a batch half done")
                first.send_signal(signal.SIGKILL)
                first.wait()
                killed_at = time.monotonic()
                orphans = await redis.smembers(keys.claims)  # type: ignore[misc]
                unfinished = sum([await redis.hlen(c) for c in orphans])  # type: ignore[misc]
                # when arq may run the killed jobs again: their in-progress keys expire
                jobs = [c.decode().split(":claimed:", 1)[1] for c in orphans]
                ttls = [await redis.pttl(f"arq:in-progress:{j}") for j in jobs]
                ttl_left = max(ttls, default=0) / 1000
            assert unfinished > 0, "the kill should land while a batch is claimed"
            assert 0 < ttl_left <= RECOVERY_BOUND
            async with worker_process(settings):
                await sending

                async def recovered() -> bool:
                    return not any([await redis.exists(c) for c in orphans])

                await wait_for(recovered, RECOVERY_BOUND + 10, "the killed batch to be re-run")
                recovery = time.monotonic() - killed_at
                await converge(redis, prefix, sandbox, rules, timeout=60)
    assert recovery <= ttl_left + 8  # re-run as soon as allowed, then the batch's own work
    assert sender.accepted == len(ws.entries)
    missing = lost(sandbox, rules, sender.accepted_ids)
    report(
        Figures(
            "worker SIGKILL mid-batch, restarted",
            len(ws.entries),
            sender.accepted,
            missing,
            await duplicate_writes(redis, prefix),
            errors_answered(sandbox),
            1,
            clock(),
            f"killed batch ({unfinished} entries left): re-run {ttl_left:.1f}s after the kill "
            f"(bound {RECOVERY_BOUND}s), done after {recovery:.1f}s",
        )
    )
    assert missing == 0


async def test_sigterm_lets_running_jobs_finish(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    ws = seed_workspace(entries=300, seed=22)
    sandbox_app = create_sandbox(ws, faults=Faults(slow_rate=1.0, slow_seconds=0.3))
    sandbox = sandbox_app.state.sandbox
    keys = Keys(prefix)
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix,
            rules_file,
            awork_api_url=url,
            reconcile_interval_seconds=0,
            worker_job_completion_wait_seconds=20,
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        async with web_process(settings) as web_url, worker_process(settings) as first:
            await wait_for(lambda: redis.exists(keys.me), 30, "the worker to start")
            clock = Clock()
            sender = Sender(web_url)
            await sender.send(updates(ws))

            async def busy() -> bool:
                return bool(await redis.scard(keys.claims)) and sandbox.count("GET") > 2  # type: ignore[misc]

            await wait_for(busy, 20, "a batch in progress")
            stopped_at = time.monotonic()
            first.send_signal(signal.SIGTERM)
            await asyncio.to_thread(first.wait, 30)
            drained = time.monotonic() - stopped_at
            sandbox.faults.update({"slow_rate": 0.0})
            # the running flush finished and released its claim: nothing waits for a re-run
            assert await redis.scard(keys.claims) == 0  # type: ignore[misc]
            assert [
                k async for k in redis.scan_iter(match=f"arq:in-progress:{prefix}:flush:*")
            ] == []
            async with worker_process(settings):
                await converge(redis, prefix, sandbox, rules, timeout=30)
        missing = lost(sandbox, rules, sender.accepted_ids)
    report(
        Figures(
            "worker SIGTERM mid-batch (drain), restarted",
            len(ws.entries),
            sender.accepted,
            missing,
            await duplicate_writes(redis, prefix),
            errors_answered(sandbox),
            1,
            clock(),
            f"exited {drained:.1f}s after SIGTERM with its jobs done",
        )
    )
    assert missing == 0
    assert first.returncode == 0
