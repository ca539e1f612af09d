"""Figures 2 and 3: a project change fans out into 5,000 webhooks at once.

The stack is production-shaped: `awork-billing serve` and `awork-billing worker` each in their
own process, the sandbox (awork's real 50/s and 1,000/min limits, echoes of our own writes) in
this one. Every entry of a 5,000-entry workspace gets a new version and its webhook; the rules
(`burst-rules.yaml`) change billable and type of work. The clock runs from the first webhook
sent until the sandbox holds the rules' outcome (`pending_changes == []`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.settings import Settings
from service.sandbox import SandboxState, create_sandbox, envelope, running, seed_workspace
from service.sandbox.delivery import Deliverer
from tests.bench.burst import Burst
from tests.bench.servers import child_pid, cpu_seconds
from tests.support.config import SANDBOX_TOKEN, make_settings
from tests.support.pipeline import pending_changes, quiet, resolved_rules
from tests.support.processes import web_process, worker_process
from workers.cli.stack import Stack, register_webhook
from workers.rules import RuleSet, plan

SEED = 1
ENTRIES = 5000
BURST_RULES = Path(__file__).with_name("burst-rules.yaml").resolve()
CONNECTIONS = Deliverer().concurrency
"""Webhooks in flight at once: as many as the sandbox's own deliveries (awork's fan-out)."""
WRITE_TEMPLATE = "/timeentries/batch/{operation}"
BODIES = Path("var/bench/burst-bodies.jsonl")
START_PHASE = 0.1
"""The burst starts this many seconds into a coalescing window (see `_aligned_start`)."""


def person(sandbox: SandboxState) -> dict[str, Any]:
    """A person of the workspace (not the API user): the author of the edits."""
    ws = sandbox.workspace
    return ws.person(next(u for u in ws.users if u != ws.api_user["id"]))


def bench_settings(prefix: str, window: float) -> Settings:
    """The service's settings for the burst: defaults but for Redis, the rules and the window.

    The reconciliation sweep is off: started with the worker, it would find the 5,000 entries
    just touched and converge them itself, so the figures would not measure the webhook path.
    """
    return make_settings(
        prefix, BURST_RULES, coalesce_window_seconds=window, reconcile_interval_seconds=0
    )


@contextlib.asynccontextmanager
async def process_stack(redis: Redis, settings: Settings) -> AsyncIterator[Stack]:
    """Sandbox here; web app and worker as processes; awork's webhook pointed at the web app."""
    sandbox_app = create_sandbox(seed_workspace(entries=ENTRIES, seed=SEED))
    async with running(sandbox_app) as sandbox_url:
        settings = settings.model_copy(update={"awork_api_url": sandbox_url})
        async with web_process(settings) as web_url, worker_process(settings):
            target = f"{web_url}/webhooks/awork"
            await register_webhook(settings, SANDBOX_TOKEN, target)
            await _worker_ready(redis, Keys(settings.redis_prefix))
            yield Stack(settings, sandbox_url, web_url, sandbox_app.state.sandbox)


async def _worker_ready(redis: Redis, keys: Keys, timeout: float = 30) -> None:
    """The worker has started once it stored its awork identity (`workers.apply.Billing.start`)."""
    deadline = time.monotonic() + timeout
    while not await redis.exists(keys.me):
        if time.monotonic() > deadline:
            raise RuntimeError("the worker process did not start")
        await asyncio.sleep(0.05)


async def run_burst(stack: Stack, redis: Redis) -> Burst:
    """Touch every entry, send its webhook, wait for the rules' outcome, count the calls."""
    sandbox = stack.sandbox
    rules = resolved_rules(stack.settings.rules_file, sandbox)
    BODIES.parent.mkdir(parents=True, exist_ok=True)
    BODIES.write_bytes(b"\n".join(_fan_out(sandbox)))
    wanted = pending_changes(sandbox, rules)
    sandbox.reset_calls()
    echoes, cpu = len(sandbox.deliveries), _cpu()
    watch = asyncio.create_task(converged(sandbox, rules, {c.entry_id for c in wanted}))
    window = stack.settings.coalesce_window_seconds
    sent = await _send(f"{stack.web_url}/webhooks/awork", _aligned_start(window))
    done = await asyncio.wait_for(watch, timeout=180)
    cpu = {k: v - cpu[k] for k, v in _cpu().items()}
    await quiet(redis, stack.settings.redis_prefix, sandbox, timeout=120)
    echoes = len(sandbox.deliveries) - echoes
    if pending_changes(sandbox, rules):
        raise AssertionError("the burst did not converge to the rules' outcome")
    return Burst(
        rules=Path(stack.settings.rules_file).name,
        connections=CONNECTIONS,
        events=sent.events,
        entries_changed=len({c.entry_id for c in wanted}),
        changes=len(wanted),
        reads=sandbox.count("GET", "/timeentries"),
        writes=sandbox.count("POST", WRITE_TEMPLATE),
        calls=len(sandbox.calls),
        too_many=sandbox.count(status=429),
        ingest_seconds=sent.finished - sent.started,
        last_window_seconds=(math.floor(sent.finished / window) + 1) * window - sent.started,
        converge_seconds=done - sent.started,
        peak_per_second=_peak(sorted(c.time for c in sandbox.calls)),
        echoes=echoes,
        cpu=cpu,
    )


def _cpu() -> dict[str, float]:
    """CPU seconds used so far by the sandbox (this process), the web app and the worker."""
    return {
        "sandbox": time.process_time(),
        "web app": cpu_seconds(child_pid("serve")),
        "worker": cpu_seconds(child_pid("worker")),
    }


def _aligned_start(window: float, boot: float = 4.0) -> float:
    """A start `START_PHASE` s into a coalescing window, late enough for the sender to boot:
    the same phase in every run, so that the wait for the window's end compares too."""
    return (math.floor((time.time() + boot) / window) + 1) * window + START_PHASE


def _peak(times: list[float]) -> int:
    """The most calls within any one second."""
    first, peak = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


@dataclass(frozen=True)
class _Sent:
    events: int
    started: float
    finished: float


async def _send(url: str, at: float) -> _Sent:
    """Run `tests.bench.sender` over `BODIES`; every webhook must be answered 202."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.sender",
        url,
        str(BODIES),
        str(CONNECTIONS),
        "--at",
        f"{at:.3f}",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    BODIES.unlink(missing_ok=True)
    lines = [x for x in out.decode().splitlines() if x.startswith("BENCH-JSON ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the burst sender failed (exit {proc.returncode})")
    report: dict[str, Any] = orjson.loads(lines[-1].removeprefix("BENCH-JSON "))
    statuses: dict[str, int] = report["statuses"]
    if set(statuses) != {"202"}:
        raise AssertionError(f"the burst was not accepted: {statuses}")
    return _Sent(statuses["202"], report["started"], report["finished"])


def _fan_out(sandbox: SandboxState) -> list[bytes]:
    """A project change: every entry gets a new version; one webhook body per entry."""
    ws = sandbox.workspace
    by = person(sandbox)
    for entry_id in ws.entries:
        ws.touch_entry(entry_id, by=by)
    return [
        orjson.dumps(envelope("timetracking_updated", e, triggered_by=by, changes=None))
        for e in ws.entries.values()
    ]


async def converged(sandbox: SandboxState, rules: RuleSet, wanted: set[str]) -> float:
    """The time at which the last wanted entry reached the rules' outcome.

    Re-checks only the entries each new write names, so that watching costs the sandbox's
    process next to nothing during the burst.
    """
    left, seen = set(wanted), 0
    while left:
        await asyncio.sleep(0.01)
        new, seen = sandbox.calls[seen:], len(sandbox.calls)
        written = {
            i
            for c in new
            if c.template == WRITE_TEMPLATE and isinstance(c.json, dict)
            for i in c.json.get("timeEntryIds", [])
        }
        left -= {i for i in written & left if not plan(sandbox.workspace.entries[i], rules)}
    return time.time()
