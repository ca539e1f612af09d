"""`python -m tests.bench [ingest] [burst] [latency] [engine]`: run the figures named (all five
without a name), print the table, write `var/bench/results.md`.

`burst` is figures 2 and 3 (one burst, plus the naive consumer as their baseline); `latency`
is figure 4. The README's figures come from a run of all of them. The ingest figure writes to a
redis-server of its own (configured like TEST_REDIS_URL's, see `tests.bench.ingest`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time

from redis.asyncio import Redis

from service.contract.redis import connect, purge_prefix
from service.contract.settings import Settings
from tests.bench import report
from tests.bench.burst import convergence_figure, frugality_figure
from tests.bench.engine import measure_engine
from tests.bench.ingest import measure_ingest
from tests.bench.latency import latency_figure, measure_latency
from tests.bench.load import generator_name
from tests.bench.naive import measure_naive
from tests.bench.pipeline import BURST_RULES, bench_settings, process_stack, run_burst
from tests.support.config import REDIS_URL, make_settings

WINDOW = float(Settings.model_fields["coalesce_window_seconds"].default)
STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


PARTS = ("ingest", "burst", "latency", "engine")


async def figures(redis: Redis, prefix: str, parts: set[str]) -> list[report.Figure]:
    rows: dict[str, list[report.Figure]] = {}
    if "engine" in parts:
        progress("5 rules engine")
        rows["engine"] = [measure_engine()]
    if "ingest" in parts:
        progress("1 ingest: service vs bare endpoint, A/B/B/A")
        settings = make_settings(f"{prefix}-ingest", BURST_RULES, coalesce_window_seconds=WINDOW)
        rows["ingest"] = [await measure_ingest(redis, settings)]
    if parts & {"burst", "latency"}:
        rows.update(await _through_the_stack(redis, prefix, parts))
    return [figure for part in PARTS if part in rows for figure in rows[part]]


async def _through_the_stack(
    redis: Redis, prefix: str, parts: set[str]
) -> dict[str, list[report.Figure]]:
    rows: dict[str, list[report.Figure]] = {}
    settings = bench_settings(prefix, WINDOW)
    async with process_stack(redis, settings) as stack:
        if "burst" in parts:
            progress("2+3 a 5,000-event burst through web app, Redis, worker and sandbox")
            burst = await run_burst(stack, redis)
        if "latency" in parts:
            progress("4 latency of isolated single events")
            rows["latency"] = [latency_figure(await measure_latency(stack))]
    if "burst" in parts:
        progress("2 baseline: the naive per-event consumer")
        naive = await measure_naive(BURST_RULES)
        rows["burst"] = [frugality_figure(burst, naive), convergence_figure(burst, naive, WINDOW)]
    return rows


async def main(parts: set[str]) -> int:
    redis = connect(REDIS_URL)
    try:
        await redis.ping()
    except Exception as e:
        await redis.aclose()
        print(f"bench: Redis is required at {REDIS_URL} (TEST_REDIS_URL): {e}", file=sys.stderr)
        return 2
    prefix = f"bench-{secrets.token_hex(3)}"
    load = os.getloadavg()  # before we add to it: other work on the machine skews the figures
    try:
        rows = await figures(redis, prefix, parts)
        about = await environment(redis, load)
    finally:
        await purge_prefix(redis, prefix)
        await redis.aclose()
    document = report.render(rows, about)
    path = report.write(document)
    print(document)
    progress(f"done; written to {path}")
    return 0


async def environment(redis: Redis, load: tuple[float, float, float]) -> dict[str, str]:
    """The machine, Redis and the load generator: what the figures depend on."""
    info = await redis.info("server")
    aof = (await redis.config_get("appendonly")).get("appendonly", "?")
    return report.machine(
        {
            "redis": f"{info.get('redis_version', '?')} at {REDIS_URL}, appendonly {aof}",
            "load generator": report.wrk_version() or generator_name(),
            "load average before the run": " / ".join(f"{x:.2f}" for x in load),
            "ingest's Redis": "a redis-server of its own, configured like the one above, on the "
            "generator's core",
        }
    )


def _parts(argv: list[str]) -> set[str]:
    unknown = set(argv) - set(PARTS)
    if unknown:
        print(f"bench: unknown figure {sorted(unknown)[0]!r}; choose from {PARTS}", file=sys.stderr)
        raise SystemExit(2)
    return set(argv) or set(PARTS)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(_parts(sys.argv[1:]))))
