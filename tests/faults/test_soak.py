"""A soak: 30,000 webhooks (ten rounds of 3,000 entries changing) through the real processes —
Redis memory per entry and per webhook, no per-entry key without a TTL, and process memory that
settles instead of growing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.redis import text
from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.faults.harness import Clock, Figures, converge, lost, updates
from tests.support.config import make_settings
from tests.support.pipeline import post_events, resolved_rules
from tests.support.processes import web_process, worker_process

pytestmark = pytest.mark.faults

ENTRIES, ROUNDS = 3000, 10
HALF = ROUNDS // 2
UNEXPIRING = {"pending", "claims", "queue", "audit", "dead", "me", "reconcile", "cache"}
"""Key families without a TTL: one per installation (or capped, like the audit stream), never
one per entry or per webhook."""


def web_pid(url: str) -> int:
    """The pid of the `awork-billing serve` listening at `url` (from /proc's socket table)."""
    port = int(url.rsplit(":", 1)[1])
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and f"--port {port}" in _cmdline(proc):
            return int(proc.name)
    return 0


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def rss_kib(pid: int) -> int:
    if not pid:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def memory_by_family(
    redis: Redis, prefix: str
) -> tuple[Counter[str], Counter[str], list[str]]:
    """Bytes and keys per key family (`<prefix>:<family>:…`), and the keys without a TTL."""
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    forever: list[str] = []
    async for raw in redis.scan_iter(match=f"{prefix}:*", count=1000):
        key = text(raw)
        family = key.split(":")[1]
        size[family] += int(await redis.memory_usage(key) or 0)
        count[family] += 1
        if family not in UNEXPIRING and await redis.ttl(key) == -1:
            forever.append(key)
    return size, count, forever


@pytest.mark.timeout(600)
async def test_thirty_thousand_webhooks_leave_bounded_memory(
    prefix: str, rules_file: Path, redis: Redis, report: Callable[[Figures], None]
) -> None:
    ws = seed_workspace(entries=ENTRIES, seed=51)
    sandbox_app = create_sandbox(ws, faults=Faults(echo_webhooks=False))
    sandbox = sandbox_app.state.sandbox
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix, rules_file, awork_api_url=url, reconcile_interval_seconds=0
        )
        rules = resolved_rules(settings.rules_file, sandbox)
        async with web_process(settings) as web_url, worker_process(settings) as worker:
            used_before = int((await redis.info("memory"))["used_memory"])
            clock = Clock()
            rss: list[int] = []
            accepted = 0
            for round_ in range(1, ROUNDS + 1):  # back to back: it drains while the next comes
                for entry_id in ws.entries:
                    ws.touch_entry(entry_id)  # a new version: each round is new webhooks
                statuses = await post_events(web_url, updates(ws))
                accepted += statuses.count(202)
                if round_ in (HALF, ROUNDS):
                    await converge(redis, prefix, sandbox, rules, timeout=180)
                    rss.append(rss_kib(worker.pid))
            seconds = clock()
            used_after = int((await redis.info("memory"))["used_memory"])
            web_rss = rss_kib(web_pid(web_url))
            size, count, forever = await memory_by_family(redis, prefix)
            audit_lines = int(await redis.xlen(Keys(prefix).audit))
            missing = lost(sandbox, rules, ws.entries)
    per_webhook = size["evt"] / max(count["evt"], 1)
    per_entry = (size["ver"] + size["fence"]) / ENTRIES
    # After the first half the caches are warm and the allocator holds what the largest batches
    # needed (a loaded machine lets bigger backlogs build up); a leak would keep growing after it.
    growth = rss[1] - rss[0]
    notes = (
        f"Redis +{(used_after - used_before) / 1e6:.1f} MB; per webhook {per_webhook:.0f} B "
        f"(dedup), per entry {per_entry:.0f} B (version + fences), audit "
        f"{size['audit'] / max(1, audit_lines):.0f} B per line ({audit_lines:,} lines); worker RSS "
        f"{rss[0] // 1024}→{rss[1] // 1024} MiB after rounds {HALF} and {ROUNDS}; "
        f"web RSS {web_rss // 1024} MiB"
    )
    report(
        Figures(
            f"soak: {ROUNDS} rounds × {ENTRIES:,} entries",
            ENTRIES * ROUNDS,
            accepted,
            missing,
            0,
            0,
            0,
            seconds,
            notes,
        )
    )
    assert accepted == ENTRIES * ROUNDS
    assert missing == 0
    assert forever == []
    assert growth < 30 * 1024  # settles: the second half adds less than 30 MiB
    print(f"\nkeys by family: {dict(count)}\nbytes by family: {dict(size)}")
