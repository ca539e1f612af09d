"""The worker's heartbeat: a file its event loop touches every few seconds, holding its state.

`awork-billing healthcheck` reads it (Kubernetes' probes): fresh means the loop runs; `ready`
means start-up is done (rules loaded, awork's API user known). While the worker waits for Redis
or awork at start-up the file stays fresh with `starting`: the pod is alive and patient, not
crash-looping. A heartbeat that cannot be written is a start-up error, not silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0
STARTING, READY = "starting", "ready"


class HeartbeatError(Exception):
    """The heartbeat file cannot be written; says where and how to choose another."""


class Heartbeat:
    """Touches `path` every `interval` seconds while started; `state` is written into it."""

    def __init__(self, path: Path, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self.state = STARTING
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Write the file once now (raising `HeartbeatError`), then keep it fresh."""
        self.beat()
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    def ready(self) -> None:
        self.state = READY
        self.beat()

    def beat(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self.state)
        except OSError as e:
            raise HeartbeatError(
                f"cannot write the worker heartbeat {self.path}: {e.strerror or e} "
                "(set WORKER_HEARTBEAT_FILE to a writable path)"
            ) from e

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.beat()  # a small local file: writing it does not block the loop
            except HeartbeatError as e:  # keep trying; the probe will notice the silence
                log.error("%s", e)


def read(path: Path) -> tuple[float, str]:
    """The heartbeat's age in seconds and its state; `FileNotFoundError` when there is none."""
    age = time.time() - path.stat().st_mtime
    return age, path.read_text().strip()
