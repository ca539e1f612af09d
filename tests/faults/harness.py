"""What the fault-injection tests share: a Redis server of their own, awork-like delivery with
retries, waiting for convergence, and the figures each test reports (`var/faults/report.md`)."""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from service.contract.redis import connect
from service.sandbox import SandboxState, Workspace, envelope
from tests.support.config import WEBHOOK_TOKEN
from tests.support.pipeline import pending_changes, quiet
from tests.support.processes import free_port
from tests.support.records import audit_rows
from workers.rules import RuleSet

HEADERS = {"X-Webhook-Token": WEBHOOK_TOKEN, "Content-Type": "application/json"}
VERSION = re.compile(r"\(v(\d+)\)")
"""The entry version in an audit row's trigger: "<event> by <who> (v<version>)" (workers.apply)."""
REPORT = Path(__file__).resolve().parents[2] / "var" / "faults" / "report.md"


@dataclass
class Figures:
    """One fault run, as reported: what was sent, what got lost, what it cost."""

    scenario: str
    events: int = 0
    accepted: int = 0
    lost: int = 0
    duplicates_applied: int = 0
    retries: int = 0
    restarts: int = 0
    seconds: float = 0.0
    notes: str = ""

    def line(self) -> str:
        return (
            f"| {self.scenario} | {self.events} | {self.accepted} | {self.lost} | "
            f"{self.duplicates_applied} | {self.retries} | {self.restarts} | "
            f"{self.seconds:.1f} | {self.notes} |"
        )


HEADER = (
    "| scenario | events sent | accepted (2xx) | lost | duplicate writes | awork errors retried "
    "| process restarts | time to converge (s) | notes |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---|"
)


def write_report(rows: Sequence[Figures]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Fault-injection run", "", f"{time.strftime('%Y-%m-%d %H:%M:%S')}", "", HEADER]
    REPORT.write_text("\n".join([*lines, *(row.line() for row in rows)]) + "\n")


class RedisServer:
    """A `redis-server` of a test's own on a free loopback port, data in `directory`."""

    def __init__(self, directory: Path, *options: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        assert os.path.exists(binary), "redis-server is required for the fault tests"
        self.port = free_port()
        self.args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            *options,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        async with connect(self.url, retries=0) as client:
            while True:
                try:
                    if await client.ping():
                        return
                except Exception:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    await asyncio.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a graceful shutdown (AOF flushed, as on a pod restart); SIGKILL: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


class Sender:
    """Delivers webhooks like awork: concurrently, retrying a non-2xx or no answer a while."""

    def __init__(
        self, url: str, *, concurrency: int = 16, attempts: int = 40, pause: float = 0.0
    ) -> None:
        self.url = f"{url}/webhooks/awork"
        self.concurrency = concurrency
        self.attempts = attempts
        self.pause = pause
        self.statuses: list[int] = []
        self.answers: Counter[str] = Counter()
        self.retries = 0
        self.accepted_ids: set[str] = set()

    async def send(self, events: Iterable[dict[str, Any]]) -> None:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for event in events:
            queue.put_nowait(event)
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            await asyncio.gather(*(self._worker(client, queue) for _ in range(self.concurrency)))

    async def _worker(
        self, client: httpx.AsyncClient, queue: asyncio.Queue[dict[str, Any]]
    ) -> None:
        while not queue.empty():
            event = queue.get_nowait()
            body = orjson.dumps(event)
            for attempt in range(1, self.attempts + 1):
                try:
                    response = await client.post(self.url, content=body, headers=HEADERS)
                except httpx.TransportError:
                    status = 0
                else:
                    status = response.status_code
                if 200 <= status < 300:
                    self.answers[response.json()["status"]] += 1
                    self.accepted_ids.add(str(event["entity"]["id"]))
                    break
                self.retries += 1
                await asyncio.sleep(min(1.0, 0.1 * attempt))
            self.statuses.append(status)
            await asyncio.sleep(self.pause)

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.statuses if 200 <= s < 300)


def updates(ws: Workspace, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """`timetracking_updated` for entries as they are now, by someone who is not the API user."""
    person = ws.person(next(u for u in ws.users if u != ws.api_user["id"]))
    chosen = list(ws.entries) if ids is None else list(ids)
    return [
        envelope("timetracking_updated", ws.entries[i], triggered_by=person, changes=None)
        for i in chosen
    ]


async def converge(
    redis: Redis, prefix: str, sandbox: SandboxState, rules: RuleSet, timeout: float = 60
) -> None:
    """Wait until the queue is quiet and the sandbox matches the rules' outcome."""
    deadline = time.monotonic() + timeout
    while True:
        await quiet(redis, prefix, sandbox, timeout=max(1.0, deadline - time.monotonic()))
        if not pending_changes(sandbox, rules):
            return
        assert time.monotonic() < deadline, "quiet, but the sandbox does not match the rules"
        await asyncio.sleep(0.2)


def lost(sandbox: SandboxState, rules: RuleSet, accepted_ids: Iterable[str]) -> int:
    """Accepted entries whose change never happened."""
    wrong = {c.entry_id for c in pending_changes(sandbox, rules)}
    return len(wrong & set(accepted_ids))


async def duplicate_writes(redis: Redis, prefix: str) -> int:
    """Changes applied more than once for the same version of an entry (a re-run writing again
    what it had written); a person changing the entry back in between is a new version."""
    rows = await audit_rows(redis, prefix, count=1_000_000)
    applied = Counter(
        (r["entry"], r["attribute"], r["new"], _version(r["trigger"]))
        for r in rows
        if r["outcome"] == "applied"
    )
    return sum(n - 1 for n in applied.values())


def _version(trigger: str) -> str:
    found = VERSION.findall(trigger)
    return str(found[-1]) if found else trigger


def errors_answered(sandbox: SandboxState) -> int:
    """awork calls the sandbox refused with a 429 or a 5xx (each one retried later)."""
    return sum(1 for c in sandbox.calls if c.status == 429 or c.status >= 500)


async def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> None:
    """Poll `condition` (a function, sync or async) until it holds."""
    deadline = time.monotonic() + timeout
    while not await _value(condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _value(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


@dataclass
class Clock:
    started: float = field(default_factory=time.monotonic)

    def __call__(self) -> float:
        return time.monotonic() - self.started
