"""`make demo` tells its story to the end: every step through awork's API, and converged."""

from __future__ import annotations

import asyncio
import os

from tests.support.config import REDIS_URL
from tests.support.processes import BIN


async def test_the_demo_runs_its_story_and_converges() -> None:
    env = {**os.environ, "REDIS_URL": REDIS_URL}
    process = await asyncio.create_subprocess_exec(
        str(BIN), "demo", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=100)
    text = out.decode()
    assert process.returncode == 0, (text, err.decode())
    for number in range(1, 8):
        assert f"\n{number}. " in text
    assert "timetracking_added" in text
    assert "timetracking_deleted" in text
    assert "converged: every entry matches the rules" in text
