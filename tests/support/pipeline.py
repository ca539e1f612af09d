"""Helpers for end-to-end tests: post webhooks like awork does, wait until the system is quiet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract import Keys, Queue
from service.sandbox import SandboxState
from tests.support.config import WEBHOOK_TOKEN
from tests.support.loadgen import post_all
from workers.rules import RuleSet, load_rules, plan

HEADERS = {"X-Webhook-Token": WEBHOOK_TOKEN, "Content-Type": "application/json"}


async def post_events(web_url: str, events: Iterable[dict[str, Any]]) -> list[int]:
    """POST every event to the web app like awork does (concurrently); the status codes."""
    bodies = [orjson.dumps(e) for e in events]
    result = await post_all(f"{web_url}/webhooks/awork", bodies, HEADERS)
    return result.statuses


async def quiet(redis: Redis, prefix: str, sandbox: SandboxState, timeout: float = 60) -> None:
    """Wait until nothing is pending, claimed, queued or being delivered, three polls in a row."""
    queue = Queue(redis, Keys(prefix), dedup_ttl=1, window_seconds=1)  # only asks: busy?
    deadline = time.monotonic() + timeout
    calm = 0
    while calm < 3:
        if time.monotonic() > deadline:
            raise AssertionError("the pipeline did not become quiet in time")
        await asyncio.sleep(0.15)
        await sandbox.settle()
        calm = 0 if await queue.busy() else calm + 1


def resolved_rules(path: str, sandbox: SandboxState) -> RuleSet:
    names = {str(t["name"]): str(t["id"]) for t in sandbox.workspace.types_of_work.values()}
    return load_rules(path).resolve_types(names)


def pending_changes(sandbox: SandboxState, rules: RuleSet) -> list[Any]:
    """Changes the rules still want in the sandbox (empty = converged)."""
    return [c for e in sandbox.workspace.entries.values() for c in plan(e, rules)]
