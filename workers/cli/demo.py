"""`make demo` (`awork-billing demo`): the main job end to end, on local defaults.

The awork sandbox, the web app and a worker run on loopback against a Redis on this machine
(started when none answers); people's changes reach the service as awork's webhooks, the
worker applies `demo-rules.yaml`, and the summary says what changed and what it cost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections import Counter
from typing import Any

import httpx

from service.contract.keys import Keys
from service.contract.queue import Queue
from service.contract.redis import connect, purge_prefix
from service.contract.settings import Settings, load_settings
from workers.apply.audit import AuditLog
from workers.cli.localredis import ensure
from workers.cli.stack import DEMO_RULES, SANDBOX_TOKEN, Stack, local_stack
from workers.rules.engine import plan
from workers.rules.parser import load_rules


async def run_demo() -> int:
    """`make demo`: a burst of webhooks through the whole pipeline, then a summary table."""
    url = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    ensure(url)
    logging.getLogger().setLevel(logging.ERROR)  # the demo prints its own summary
    settings = load_settings(
        redis_url=url,
        redis_prefix="awb-demo",
        rules_file=str(DEMO_RULES),
        awork_api_token=SANDBOX_TOKEN,
        webhook_token=secrets.token_urlsafe(16),
        coalesce_window_seconds=1.0,
        log_level="WARNING",
        reconcile_interval_seconds=0,  # a fresh sandbox missed no webhook: show the webhook path
    )
    async with connect(url) as redis:
        await purge_prefix(redis, settings.redis_prefix)
        try:
            return await _demo(settings, redis)
        finally:
            await purge_prefix(redis, settings.redis_prefix)


async def _demo(settings: Settings, redis: Any) -> int:
    started = time.monotonic()
    async with local_stack(settings) as stack:
        rules = load_rules(settings.rules_file).resolve_types(
            {t["name"]: t["id"] for t in stack.sandbox.workspace.types_of_work.values()}
        )
        before = sum(len(plan(e, rules)) for e in stack.sandbox.workspace.entries.values())
        stack.sandbox.reset_calls()
        print(f"sandbox: {len(stack.sandbox.workspace.entries)} entries, {before} changes needed")
        async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=120) as client:
            report = (await client.post("/_sandbox/fanout", json={})).json()
        print(
            f"awork sent a burst of {report['deliveries']} webhooks (answers: {report['statuses']})"
        )
        converged = await wait_until_converged(stack, redis, rules, timeout=90)
        rows = await AuditLog(redis, Keys(settings.redis_prefix).audit).read(count=100_000)
        _print_summary(stack, rows, time.monotonic() - started, converged)
    return 0 if converged else 1


async def wait_until_converged(stack: Stack, redis: Any, rules: Any, timeout: float) -> bool:
    """True once the queue is empty and every sandbox entry matches the rules' outcome."""
    queue = Queue.for_settings(redis, stack.settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if await queue.busy():
            continue
        if not any(plan(e, rules) for e in stack.sandbox.workspace.entries.values()):
            return True
    return False


def _print_summary(stack: Stack, rows: list[dict[str, str]], elapsed: float, ok: bool) -> None:
    types = {t["id"]: t["name"] for t in stack.sandbox.workspace.types_of_work.values()}
    changes = Counter(
        (
            r["rule"],
            r["attribute"],
            f"{types.get(r['old'], r['old'])} -> {types.get(r['new'], r['new'])}",
        )
        for r in rows
        if r["outcome"] == "applied"
    )
    print(f"\n{'rule':28} {'attribute':13} {'change':26} {'entries':>7}")
    for (rule, attribute, change), n in sorted(changes.items()):
        print(f"{rule:28} {attribute:13} {change:26} {n:7}")
    calls = Counter((c.method, c.template or c.path) for c in stack.sandbox.calls)
    webhooks = len(stack.sandbox.workspace.entries)
    print(
        f"\nawork calls: {sum(calls.values())} for {webhooks} webhook events "
        f"({sum(calls.values()) / max(webhooks, 1):.3f} calls per event)"
    )
    for (method, template), n in sorted(calls.items()):
        print(f"  {method:5} {template:40} {n}")
    state = "converged: every entry matches the rules" if ok else "NOT converged"
    print(f"\n{state}; {sum(changes.values())} changes in {elapsed:.1f}s")
