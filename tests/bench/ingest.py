"""Figure 1, ingest: webhooks/s the service accepts ÷ webhooks/s of a bare Starlette endpoint.

The service is `awork-billing serve` (token, checks, durable group-committed enqueue); the
baseline is `tests.bench.bare` under the same uvicorn arguments. Both run pinned to one core, the
load generator to the other (stack-notes 12), alternated A B B A (four times, runs of 3 s: a
pair's two runs lie seconds apart, so a change in the machine's speed moves both) after a
warm-up of each. The service's Redis is a redis-server of the figure's own, configured like the
test Redis and pinned to the generator's core: in a cluster Redis runs in a pod of its own, and
on the server's core it would take CPU from the service alone (the bare endpoint writes nothing).
Every request carries a ~3.5 KB `timetracking_updated` envelope for a distinct entry, and after
each service run the pending hash must hold one entry per 202 (plus at most the requests still
in flight when the generator stopped). Printed with the rates: the web process's CPU per
webhook (`/proc/<pid>/stat`) against the bare endpoint's, and what Redis keeps per queued entry
(`MEMORY USAGE` of the pending hash per entry, plus a dedup key).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, median

import orjson
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.redis import connect
from service.contract.settings import Settings
from service.sandbox import envelope, seed_workspace
from tests.bench.load import CONNECTIONS, LoadRun, generator_name, run_load
from tests.bench.report import Figure
from tests.bench.servers import Server, bare_server, cores, pinned, service_server
from tests.faults.harness import RedisServer
from tests.support.config import WEBHOOK_TOKEN

SECONDS = 3.0
WARM_UP = 2.0
ROUNDS = 4
TEMPLATE = Path("var/bench/webhook-template.json")
GOAL = 0.8
"""webhooks/s of the service ÷ the bare endpoint's (issue 14)."""
MARKER = "@ID@"


def body_template(path: Path = TEMPLATE) -> Path:
    """A realistic `timetracking_updated` body (~3.5 KB: a seeded entry with its nested project
    and task, and the `changes` a person's edit carries) with `@ID@` where the entry id goes."""
    ws = seed_workspace(entries=50, seed=3)
    by_size = sorted(ws.entries.values(), key=lambda e: len(orjson.dumps(e)))
    entry, before = by_size[-1], by_size[0]  # the old values: another entry's
    person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
    changes = [
        {"property": name, "old": str(before.get(key)), "new": str(entry.get(key))}
        for name, key in _CHANGED
    ]
    body = envelope("timetracking_updated", entry, triggered_by=person, changes=changes)
    text = orjson.dumps(body).decode().replace(entry["id"], MARKER)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


_CHANGED = [
    ("Note", "note"),
    ("Duration", "duration"),
    ("StartTimeUtc", "startTimeUtc"),
    ("EndTimeUtc", "endTimeUtc"),
    ("StartDateUtc", "startDateUtc"),
    ("EndDateUtc", "endDateUtc"),
    ("UpdatedOn", "updatedOn"),
    ("TypeOfWorkId", "typeOfWorkId"),
    ("IsBillable", "isBillable"),
]


@contextlib.asynccontextmanager
async def own_redis(shared: Redis, settings: Settings) -> AsyncIterator[tuple[Redis, Settings]]:
    """A redis-server of the figure's own, configured like `shared` (appendonly) and started on
    the cores this process runs on: other work on a shared test Redis then slows only itself."""
    aof = (await shared.config_get("appendonly")).get("appendonly", "no")
    server = RedisServer(Path("var/bench/redis"), "--appendonly", str(aof))
    await server.start()
    try:
        async with connect(server.url) as redis:
            yield redis, settings.model_copy(update={"redis_url": server.url})
    finally:
        server.stop()


async def measure_ingest(shared: Redis, settings: Settings) -> Figure:
    """Warm both servers up, then run them in A B B A order, `ROUNDS` times."""
    template = body_template()
    server_core, load_core = cores() or (None, None)
    async with contextlib.AsyncExitStack() as stack:
        # a process runs where it starts: Redis and the generator on one core, the servers on the
        # other
        with pinned(load_core):
            redis, settings = await stack.enter_async_context(own_redis(shared, settings))
        with pinned(server_core):
            service = await stack.enter_async_context(service_server(settings))
            bare = await stack.enter_async_context(bare_server())
        with pinned(load_core):
            runs = Runs(redis, Keys(settings.redis_prefix), template)
            await runs.warm_up(service, bare)
            for server in [service, bare, bare, service] * ROUNDS:
                await runs.measure(server)
        stored = await queued_bytes(redis, Keys(settings.redis_prefix))
    return _figure(template, runs, stored, pinned=server_core is not None)


@dataclass(frozen=True)
class Stored:
    """Redis bytes per queued entry: its field and record in `pending`, and its dedup key."""

    pending: float
    dedup: float

    @property
    def total(self) -> float:
        return self.pending + self.dedup


async def queued_bytes(redis: Redis, keys: Keys, sample: int = 200) -> Stored:
    """`MEMORY USAGE` of the pending hash per entry (exact: SAMPLES 0) and of a dedup key (the
    mean over a sample); the flush jobs are a few per window, not per entry."""
    entries = await redis.hlen(keys.pending)  # type: ignore[misc]
    pending = await redis.memory_usage(keys.pending, samples=0) or 0
    dedup = []
    async for key in redis.scan_iter(match=keys.dedup("*"), count=1000):
        dedup.append(await redis.memory_usage(key) or 0)
        if len(dedup) >= sample:
            break
    return Stored(pending / max(entries, 1), mean(dedup) if dedup else 0.0)


@dataclass
class Sample:
    run: LoadRun
    cpu_seconds: float

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_seconds / max(self.run.requests, 1)


class Runs:
    """The measured runs of both servers, and the Redis check after each run of the service."""

    def __init__(self, redis: Redis, keys: Keys, template: Path) -> None:
        self.redis = redis
        self.keys = keys
        self.template = template
        self.run_no = int(time.time()) & 0xFFFFFF
        self.samples: dict[str, list[Sample]] = {"service": [], "bare": []}
        self.accepted = self.queued = 0

    async def warm_up(self, *servers: Server) -> None:
        for server in servers:
            await self.run(server, WARM_UP)
        self.samples = {name: [] for name in self.samples}
        self.accepted = self.queued = 0

    async def measure(self, server: Server) -> None:
        await self.run(server, SECONDS)

    async def run(self, server: Server, seconds: float) -> None:
        self.run_no += 1
        before = await self.redis.hlen(self.keys.pending)  # type: ignore[misc]
        cpu = server.cpu_seconds()
        result = await run_load(server.url, self.template, self.run_no, WEBHOOK_TOKEN, seconds)
        self.samples[server.name].append(Sample(result, server.cpu_seconds() - cpu))
        if server.name == "service":
            await asyncio.sleep(0.5)  # requests in flight at the stop finish their write
            queued = await self.redis.hlen(self.keys.pending) - before  # type: ignore[misc]
            _check(result, queued)
            self.accepted += result.accepted
            self.queued += queued


def _check(run: LoadRun, queued: int) -> None:
    """Every 202 is in Redis: pending grew by the 202s, plus what was in flight at the stop."""
    in_flight = run.sent - run.requests
    if run.refused or not run.accepted <= queued <= run.accepted + max(in_flight, 0):
        raise AssertionError(
            f"ingest lost or refused webhooks: {run.accepted} answered 202, {run.refused} other "
            f"answers, {queued} new pending entries, {in_flight} in flight"
        )


def _figure(template: Path, runs: Runs, stored: Stored, *, pinned: bool) -> Figure:
    service, bare = runs.samples["service"], runs.samples["bare"]
    rate_a, rate_b = _rate(service), _rate(bare)
    pairs = [a.run.rate / b.run.rate for a, b in zip(service, bare, strict=True)]
    cpu_a, cpu_b = mean(s.cpu_us for s in service), mean(s.cpu_us for s in bare)
    ratio = median(pairs)
    where = "server on CPU0, generator and Redis on CPU1" if pinned else "not pinned (1 core)"
    note = (
        f"{generator_name()} -c{CONNECTIONS}, {ROUNDS} × A/B/B/A runs of {SECONDS:g} s, {where}; "
        f"{template.stat().st_size:,} B bodies, a distinct entry each; ratio = median of the "
        f"pairs {' / '.join(f'{p:.2f}' for p in pairs)} (totals: {rate_a / rate_b:.2f}); "
        f"server CPU per webhook {cpu_a:.0f} µs vs {cpu_b:.0f} µs (ratio {cpu_b / cpu_a:.2f}); "
        f"Redis keeps {stored.total:,.0f} B per queued entry ({stored.pending:,.0f} B in the "
        f"pending hash + {stored.dedup:,.0f} B dedup key); every 202 in Redis "
        f"({runs.accepted:,} × 202 → {runs.queued:,} pending, the rest in flight at the stop)"
    )
    if generator_name() != "wrk":
        note += "; without wrk the Python generator caps the bare endpoint: ratio optimistic"
    return Figure(
        "1 ingest: webhooks/s accepted",
        f"{_describe(rate_a, service)}, {cpu_a:.0f} µs CPU/webhook, "
        f"{stored.total:,.0f} B in Redis per entry",
        f"{_describe(rate_b, bare)}, {cpu_b:.0f} µs CPU/webhook (bare Starlette: body read, 202)",
        ratio,
        f"≥ {GOAL:g}",
        ratio >= GOAL,
        note,
    )


def _rate(samples: list[Sample]) -> float:
    return sum(s.run.requests for s in samples) / sum(s.run.seconds for s in samples)


def _describe(rate: float, samples: list[Sample]) -> str:
    p50 = mean(s.run.p50_ms for s in samples)
    p99 = mean(s.run.p99_ms for s in samples)
    return f"{rate:,.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
