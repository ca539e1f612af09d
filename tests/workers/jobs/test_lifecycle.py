"""The rules reload: a failure awork causes is tried again on the next tick; a broken file
keeps the rules in force until it changes again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.support.config import make_settings
from workers.cli.stack import worker_running

NEW_RULES = """
version: 1
rules:
  - name: meetings
    when: {note: {contains: call}}
    then: {type_of_work: {name: Meeting}}
"""


async def test_a_reload_awork_makes_fail_is_tried_again(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    faults = Faults()
    async with running(create_sandbox(seed_workspace(entries=5), faults=faults)) as url:
        settings = make_settings(prefix, rules_file, awork_api_url=url, rules_reload_seconds=0.2)
        async with worker_running(settings) as worker:
            billing = worker.ctx["billing"]
            faults.update({"error_rate": 1.0})  # awork away while the file changes
            rules_file.write_text(NEW_RULES)
            await asyncio.sleep(1.5)
            assert [r.name for r in billing.rules.rules] != ["meetings"]
            faults.update({"error_rate": 0.0})
            for _ in range(50):
                if [r.name for r in billing.rules.rules] == ["meetings"]:
                    break
                await asyncio.sleep(0.1)
            assert [r.name for r in billing.rules.rules] == ["meetings"]
            assert billing.rules.unresolved is None
