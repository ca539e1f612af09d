"""awork's side of the burst, in its own process: POST prepared webhook bodies, report times.

    python -m tests.bench.sender URL BODIES CONNECTIONS --at EPOCH_SECONDS

`BODIES` holds one JSON body per line; sending starts at `--at` (wall clock). Prints
`BENCH-JSON {"started", "finished", "statuses"}` with wall-clock times, so that the harness can
time convergence from the first webhook sent. A
process of its own keeps the sender from competing with the sandbox (whose reads, writes and
webhook echoes run in the harness's event loop) and the other way round.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import orjson

from tests.support.loadgen import post_all
from tests.support.pipeline import HEADERS


async def send(url: str, bodies: list[bytes], connections: int, at: float) -> dict[str, object]:
    await asyncio.sleep(max(0.0, at - time.time()))
    started = time.time()
    result = await post_all(url, bodies, HEADERS, connections)
    return {
        "started": started,
        "finished": started + result.seconds,
        "statuses": {str(k): v for k, v in Counter(result.statuses).items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("bodies")
    parser.add_argument("connections", type=int)
    parser.add_argument("--at", type=float, default=0.0, help="when to start (epoch seconds)")
    args = parser.parse_args()
    with open(args.bodies, "rb") as file:
        bodies = file.read().splitlines()
    report = asyncio.run(send(args.url, bodies, args.connections, args.at))
    print("BENCH-JSON " + orjson.dumps(report).decode(), flush=True)


if __name__ == "__main__":
    main()
