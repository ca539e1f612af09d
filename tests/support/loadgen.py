"""A small, fast HTTP/1.1 load generator: pre-encoded POSTs over keep-alive connections.

httpx spends about a millisecond of CPU per request, which would make the test client the
bottleneck of a burst; this writes raw requests and reads only status lines and bodies. Used by
the burst tests and by `make bench` when `wrk` is not installed. Loopback only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse


@dataclass
class LoadResult:
    statuses: list[int]
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.statuses) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def request(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One pre-encoded POST request for `url`."""
    parsed = urlparse(url)
    lines = [f"POST {parsed.path or '/'} HTTP/1.1", f"Host: {parsed.netloc}"]
    lines += [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def post_all(
    url: str, bodies: Sequence[bytes], headers: dict[str, str], connections: int = 16
) -> LoadResult:
    """POST every body once over `connections` keep-alive connections; statuses in order."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    statuses = [0] * len(bodies)
    latencies = [0.0] * len(bodies)
    next_index = iter(range(len(bodies)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in next_index:
                started = time.perf_counter()
                writer.write(request(url, bodies[i], headers))
                statuses[i] = await _read_response(reader)
                latencies[i] = time.perf_counter() - started
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return LoadResult(statuses, latencies, time.perf_counter() - started)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = dict(line.partition(b":")[::2] for line in head.split(b"\r\n")[1:] if line)
    headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
    if headers.get(b"transfer-encoding") == b"chunked":
        while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    elif length := int(headers.get(b"content-length", b"0")):
        await reader.readexactly(length)
    return status
