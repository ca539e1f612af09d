"""Shared fixtures: a real Redis (its own database and key prefix per test), the real web app, real
arq workers, and the awork sandbox as the only stand-in.

Redis: `TEST_REDIS_URL` (default redis://127.0.0.1:6379/9; `make test` starts one if none
answers). A test that needs Redis fails — never skips — when it is missing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from service.app import create_app
from service.sandbox import SandboxState, create_sandbox, running, seed_workspace
from service.settings import Settings, load_settings
from service.store import connect, purge_prefix

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
SANDBOX_TOKEN = "sandbox-token"
WEBHOOK_TOKEN = "test-webhook-token"

DEFAULT_RULES = """
version: 1
rules:
  - name: internal-work-is-unbillable
    when:
      project.company.name: "Our Agency GmbH"
    then:
      billable: false
  - name: retainers-are-billed
    when:
      any:
        - project.name: {startswith: "RET "}
        - project.projectType.name: "Retainer"
    then:
      billable: true
      billed: true
  - name: calls-are-meetings
    when:
      note: {matches: "(?i)\\\\b(meeting|call)\\\\b"}
    then:
      type_of_work: {name: "Meeting"}
  - name: client-work-is-billable
    when:
      project.company.name: {exists: true}
    then:
      billable: true
"""


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = connect(REDIS_URL)
    try:
        await client.ping()
    except Exception as e:
        await client.aclose()
        pytest.fail(f"Redis is required at {REDIS_URL} (TEST_REDIS_URL): {e}", pytrace=False)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (and only its keys)."""
    name = f"test-{secrets.token_hex(4)}"
    yield name
    await purge_prefix(redis, name)


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(DEFAULT_RULES)
    return path


@pytest.fixture
def settings(prefix: str, rules_file: Path) -> Settings:
    return make_settings(prefix, rules_file)


def make_settings(prefix: str, rules_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "rules_file": str(rules_file),
        "awork_api_url": "http://127.0.0.1:9",
        "awork_api_token": SANDBOX_TOKEN,
        "webhook_token": WEBHOOK_TOKEN,
        "coalesce_window_seconds": 0.2,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real web app over loopback HTTP, with its lifespan."""
    async with running(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[str, SandboxState]]:
    app = create_sandbox(seed_workspace(entries=120, seed=11))
    async with running(app) as url:
        yield url, app.state.sandbox
