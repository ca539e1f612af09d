"""The load generator `make bench` falls back to when `wrk` is not installed.

    python -m tests.bench.generator URL TEMPLATE RUN TOKEN --seconds 8 --connections 50

Does what `post.lua` does under wrk — keep-alive POSTs for `--seconds`, a distinct entry id per
request (`@ID@` in the template), statuses counted, latency percentiles — and prints the same
`BENCH-JSON {...}` line. It runs in its own process (on its own core when `load.py` pins it), so it
does not share the server's CPU; being Python, it tops out at a few thousand requests per second,
which can cap the bare endpoint's figure (the harness says so when it is used).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter
from urllib.parse import urlparse

import orjson

from tests.support.loadgen import request


class Load:
    """Shared state of one run: the body parts, the id counter, what was answered."""

    def __init__(self, template: bytes, run: int) -> None:
        self.parts = template.split(b"@ID@")
        self.run = run
        self.sent = 0
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []

    def next_body(self) -> bytes:
        self.sent += 1
        entry_id = f"{self.run:08x}-0000-4000-8000-{self.sent:012x}".encode()
        return entry_id.join(self.parts)


async def connection(url: str, token: str, load: Load, deadline: float) -> None:
    parsed = urlparse(url)
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    headers = {"Content-Type": "application/json", "X-Webhook-Token": token}
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request(url, load.next_body(), headers))
            load.statuses[await read_status(reader)] += 1
            load.latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def read_status(reader: asyncio.StreamReader) -> int:
    """The status of one response; its body is read by Content-Length (uvicorn always sends it)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            await reader.readexactly(int(value))
    return status


async def run(args: argparse.Namespace, load: Load) -> dict[str, object]:
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(connection(args.url, args.token, load, deadline) for _ in range(args.connections))
    )
    ordered = sorted(load.latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0

    return {
        "seconds": time.perf_counter() - started,
        "requests": sum(load.statuses.values()),
        "sent": load.sent,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "socket_errors": 0,
        "statuses": {str(k): v for k, v in load.statuses.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("template")
    parser.add_argument("run", type=int)
    parser.add_argument("token")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    with open(args.template, "rb") as file:
        load = Load(file.read(), args.run)
    result = asyncio.run(run(args, load))
    print("BENCH-JSON " + orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
