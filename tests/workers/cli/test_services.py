"""`awork-billing sandbox`: the fake awork on its own, with the budget seeds on request, until
Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time

import httpx

from service.sandbox import ADMIN_TOKEN
from tests.support.processes import BIN, free_port, stop


async def _answering(url: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the sandbox exited with {proc.returncode}"
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/_sandbox/stats")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the sandbox at {url} did not answer")


def _as_from_a_terminal() -> None:
    """Ctrl-C reaches the command as it does from a shell: a test process that ran others before
    may have SIGINT ignored or blocked, and a child inherits both."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_the_sandbox_command_seeds_the_retainer_client_and_stops_on_ctrl_c() -> None:
    port = free_port()
    args = [str(BIN), "sandbox", "--port", str(port), "--retainer-client", "--project-budgets"]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_as_from_a_terminal
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _answering(url, proc)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            projects = (await client.get("/projects", params={"pageSize": 100})).json()
            by_name = {p["name"]: p for p in projects}
            retainers = await client.get(
                f"/projects/{by_name['RET Seeblick Kliniken']['id']}/retainers"
            )
        assert [r["timeBudget"] > 0 for r in retainers.json()] == [True]
        assert by_name["Nordlicht Webshop"]["timeBudget"] == 60 * 3600
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            stop(proc)
            out, err = proc.communicate()
            raise AssertionError(
                f"Ctrl-C did not stop the sandbox; it said: {err.decode()}"
            ) from None
        assert proc.returncode == 130  # as every command stopped by Ctrl-C
        assert f"awork sandbox at {url}" in out.decode()
    finally:
        stop(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
