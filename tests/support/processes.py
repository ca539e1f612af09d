"""The service's real entry points as separate processes (`awork-billing serve` / `worker`).

Used where one process would distort the result (a burst whose client, web app, worker and
sandbox would share one core) and by the fault tests (SIGKILL a worker, restart Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from service.contract.settings import Settings

BIN = Path(sys.executable).parent / "awork-billing"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that configures a process exactly like `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWORK_", "WEBHOOK_"))}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        secret: Any = getattr(settings, name)
        if hasattr(secret, "get_secret_value"):
            value = secret.get_secret_value()
        env[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    env.update(extra)
    return env


@contextlib.asynccontextmanager
async def web_process(settings: Settings) -> AsyncIterator[str]:
    """`awork-billing serve` on a free loopback port; yields its base URL once it is ready."""
    port = free_port()
    args = [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(args, env=settings_env(settings, LOG_LEVEL="WARNING"))
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc)
        yield url
    finally:
        stop(proc)


@contextlib.asynccontextmanager
async def worker_process(settings: Settings, **env: str) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`awork-billing worker` for `settings`; the caller may kill it (and start another)."""
    proc = subprocess.Popen(
        [str(BIN), "worker"], env=settings_env(settings, LOG_LEVEL="WARNING", **env)
    )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the web process exited with {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the web process at {url} did not become ready")
