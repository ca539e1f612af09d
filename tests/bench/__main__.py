"""`python -m tests.bench`: run the five figures, print the table, write `var/bench/results.md`."""

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


async def figures(redis: Redis, prefix: str) -> list[report.Figure]:
    progress("5 rules engine")
    engine = measure_engine()
    progress("1 ingest: service vs bare endpoint, A/B/B/A")
    settings = make_settings(f"{prefix}-ingest", BURST_RULES, coalesce_window_seconds=WINDOW)
    ingest = await measure_ingest(redis, settings)
    await purge_prefix(redis, settings.redis_prefix)
    progress("2+3 a 5,000-event burst through web app, Redis, worker and sandbox")
    settings = bench_settings(prefix, WINDOW)
    async with process_stack(redis, settings) as stack:
        burst = await run_burst(stack, redis)
        progress("4 latency of single events")
        latency = await measure_latency(stack)
    progress("2 baseline: the naive per-event consumer")
    naive = await measure_naive(BURST_RULES)
    return [
        ingest,
        frugality_figure(burst, naive),
        convergence_figure(burst, naive, WINDOW),
        latency_figure(latency),
        engine,
    ]


async def main() -> int:
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
        rows = await figures(redis, prefix)
        about = await environment(redis, load)
    finally:
        for name in (prefix, f"{prefix}-ingest"):
            await purge_prefix(redis, name)
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
        }
    )


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
