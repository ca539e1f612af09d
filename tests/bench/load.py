"""Sustained webhook load against one URL: wrk with `post.lua` when installed, else
`tests.bench.generator`; both in their own process, and both print one `BENCH-JSON` line.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

LUA = Path(__file__).with_name("post.lua")
CONNECTIONS = 50
"""As in stack-notes 11-12 (`wrk -t1 -c50`)."""


@dataclass(frozen=True)
class LoadRun:
    """One timed run: requests answered, by status, and latency percentiles."""

    seconds: float
    requests: int
    sent: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def refused(self) -> int:
        """Answers other than 202 (a benchmark webhook is never a duplicate or ignored)."""
        return self.requests - self.accepted


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "tests.bench.generator (asyncio)"


async def run_load(url: str, template: Path, run: int, token: str, seconds: float) -> LoadRun:
    """POST webhooks to `url` for `seconds` (the generator inherits this process's CPU set)."""
    wrk = shutil.which("wrk")
    if wrk is not None:
        args = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "-s", str(LUA), url, "--"]
    else:
        args = [
            sys.executable,
            "-m",
            "tests.bench.generator",
            url,
            "--seconds",
            f"{seconds:g}",
            "--connections",
            str(CONNECTIONS),
            "--",
        ]
    args += [str(template), str(run), token]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return parse(out.decode(), proc.returncode)


def parse(output: str, returncode: int | None) -> LoadRun:
    lines = [line for line in output.splitlines() if line.startswith("BENCH-JSON ")]
    if returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed (exit {returncode}):\n{output}")
    data: dict[str, Any] = orjson.loads(lines[-1].removeprefix("BENCH-JSON "))
    statuses = {int(k): int(v) for k, v in data.pop("statuses").items()}
    return LoadRun(statuses=statuses, **data)
