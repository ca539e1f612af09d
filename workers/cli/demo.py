"""`make demo` (`awork-billing demo`): the main job end to end, on local defaults.

The awork sandbox, the web app and a worker run on loopback against a Redis on this machine
(started when none answers); people track time through awork's API (`workers.cli.story`),
their changes reach the service as awork's webhooks, the worker applies `demo-rules.yaml`, and
each step says what awork sent and what the rules did; the end, what it cost. The sandbox has
the retainer client whose month is nearly used up, so one booking goes over its retainer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections import Counter
from typing import Any

from service.contract.keys import Keys
from service.contract.queue import Queue
from service.contract.redis import connect, purge_prefix
from service.contract.settings import Settings, load_settings
from service.sandbox import seed_workspace
from workers.apply.audit import AuditLog
from workers.cli.expected import wanted_changes
from workers.cli.localredis import ensure
from workers.cli.stack import DEMO_RULES, SANDBOX_TOKEN, Stack, local_stack
from workers.cli.story import STEPS, Actors, Step
from workers.rules.parser import load_rules


async def run_demo() -> int:
    """`make demo`: the story of `workers.cli.story` through the whole pipeline, step by step."""
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
    workspace = seed_workspace(entries=300, retainer_client=True)
    async with local_stack(settings, workspace) as stack:
        ws = stack.sandbox.workspace
        rules = load_rules(settings.rules_file).resolve_types(
            {t["name"]: t["id"] for t in ws.types_of_work.values()}
        )
        wanted = len(wanted_changes(ws, rules))
        print(
            f"awork sandbox: {len(ws.users) - 1} people, {len(ws.projects)} projects, "
            f"{len(ws.entries)} time entries ({wanted} changes the rules want)"
        )
        print(f"awork-billing: web app {stack.web_url}, one worker, rules {settings.rules_file}")
        print("Each step: what awork sent (the service's own writes come back too, and are")
        print("skipped: no loops) and what the rules then did.\n")
        stack.sandbox.reset_calls()
        assert stack.billing is not None  # local_stack runs the worker in this loop
        actors = Actors(stack.sandbox_url, stack.sandbox, stack.billing)
        audit = AuditLog(redis, Keys(settings.redis_prefix).audit)
        for number, step in enumerate(STEPS, 1):
            await _run_step(number, step, actors, stack, redis, audit)
        converged = await wait_until_converged(stack, redis, rules, timeout=30)
        rows = await audit.read(count=100_000)
        _print_summary(stack, rows, time.monotonic() - started, converged)
    return 0 if converged else 1


async def _run_step(
    number: int, step: Step, actors: Actors, stack: Stack, redis: Any, audit: AuditLog
) -> None:
    """One step, then what awork sent and what the rules did once the service is quiet."""
    seen = len(stack.sandbox.deliveries)
    mark = await audit.read(count=1)
    title = await step(actors)
    await wait_until_quiet(stack, redis)
    sent = Counter(d.event_type for d in list(stack.sandbox.deliveries)[seen:] if d.ok)
    since = mark[0]["id"] if mark else "0"
    rows = [r for r in await audit.read(count=100_000) if _stream_id(r["id"]) > _stream_id(since)]
    print(f"{number}. {title}")
    listing = ", ".join(f"{event} ×{n}" for event, n in sorted(sent.items()))
    print(f"   awork sent  {listing or 'nothing'}")
    for line in _did(stack, rows) or ["nothing to change"]:
        print(f"   rules       {line}")
    print()


def _did(stack: Stack, rows: list[dict[str, str]]) -> list[str]:
    types = {t["id"]: t["name"] for t in stack.sandbox.workspace.types_of_work.values()}
    counts = Counter(
        (r["rule"], r["attribute"], types.get(r["old"], r["old"]), types.get(r["new"], r["new"]))
        for r in rows
        if r["outcome"] == "applied"
    )
    done = [
        f"{rule}: {attribute} {old} -> {new}" + (f" ({n} entries)" if n > 1 else "")
        for (rule, attribute, old, new), n in sorted(counts.items())
    ]
    return done + _budgets_passed(rows)


def _budgets_passed(rows: list[dict[str, str]]) -> list[str]:
    """One line per budget whose use passed thresholds (50, 75, 90, 100 %) in this step."""
    passed: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row["outcome"].startswith("budget_passed_"):
            passed.setdefault(row["trigger"], []).append(row)
    lines = []
    for trigger, found in sorted(passed.items()):
        marks = sorted(int(r["outcome"].rsplit("_", 1)[1]) for r in found)
        name = trigger.split(" (", 1)[-1].rstrip(")")  # "<key> (<project>, <period>)"
        listed = ", ".join(f"{m} %" for m in marks)
        lines.append(f"budget of {name} passed {listed} (now {found[0]['new']} %)")
    return lines


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


async def wait_until_quiet(stack: Stack, redis: Any, timeout: float = 20) -> None:
    """Until webhooks are delivered and nothing is queued, claimed or running, twice in a row."""
    queue = Queue.for_settings(redis, stack.settings)
    deadline, calm = time.monotonic() + timeout, 0
    while calm < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.15)
        await stack.sandbox.settle()
        calm = 0 if await queue.busy() else calm + 1


async def wait_until_converged(stack: Stack, redis: Any, rules: Any, timeout: float) -> bool:
    """True once the queue is empty and every sandbox entry matches the rules' outcome."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await wait_until_quiet(stack, redis)
        if not wanted_changes(stack.sandbox.workspace, rules):
            return True
        await asyncio.sleep(0.2)
    return False


def _print_summary(stack: Stack, rows: list[dict[str, str]], elapsed: float, ok: bool) -> None:
    applied = sum(1 for r in rows if r["outcome"] == "applied")
    calls = Counter(_route(c) for c in stack.sandbox.calls if _services(c))
    webhooks = sum(1 for d in stack.sandbox.deliveries if d.ok)
    total = sum(calls.values())
    print(f"awork calls of the service: {total} for {webhooks} webhooks and the backfill")
    for (method, route), n in sorted(calls.items()):
        print(f"  {method:5} {route:40} {n}")
    state = "converged: every entry matches the rules" if ok else "NOT converged"
    print(f"\n{state}; {applied} changes, each in the audit log, in {elapsed:.1f}s")


SERVICE_WRITES = ("setIsBillable", "setIsBilled", "setTypeOfWork")
"""The bulk operations the service calls (the people of the story call others)."""


def _services(call: Any) -> bool:
    """A call the service made (reads, its bulk writes), not one of the story's people."""
    return call.method == "GET" or str(call.path).rsplit("/", 1)[-1] in SERVICE_WRITES


def _route(call: Any) -> tuple[str, str]:
    batch = call.template == "/timeentries/batch/{operation}"
    return call.method, str(call.path if batch else call.template or call.path)
