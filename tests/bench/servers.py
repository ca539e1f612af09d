"""The processes under test: the two servers of figure 1, where they run, the CPU they use.

Both are pinned to one core and the load generator to the other (stack-notes 12): a child
process inherits the CPU set of this process at its start, so `pinned` wraps their start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from service.contract.settings import Settings
from tests.support.processes import free_port, stop, web_process

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    """A server under test: its webhook URL and process id (for its CPU time)."""

    name: str
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (`/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cores() -> tuple[set[int], set[int]] | None:
    """(server core, generator core), or None on a single-core machine."""
    available = sorted(os.sched_getaffinity(0))
    return ({available[0]}, {available[1]}) if len(available) >= 2 else None


@contextlib.contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run this process, and the children it starts meanwhile, on `cpus` inside the block."""
    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.asynccontextmanager
async def service_server(settings: Settings) -> AsyncIterator[Server]:
    """`awork-billing serve` (`tests.processes.web_process`)."""
    async with web_process(settings) as url:
        yield Server("service", f"{url}/webhooks/awork", child_pid("serve"))


@contextlib.asynccontextmanager
async def bare_server() -> AsyncIterator[Server]:
    """`python -m tests.bench.bare` on a free port, once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bare", "--port", str(port)])
    url = f"http://127.0.0.1:{port}/webhooks/awork"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.post(url, content=b"{}")).status_code == 202:
                        break
                await asyncio.sleep(0.05)
        yield Server("bare", url, proc.pid)
    finally:
        stop(proc)


def child_pid(word: str) -> int:
    """The process id of this process's child whose command line contains `word`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if parent == os.getpid() and word.encode() in argv:
                return int(stat.parent.name)
    raise RuntimeError(f"no child process {word!r}")
