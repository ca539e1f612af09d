"""Shared fixtures: a real Redis (its own database and key prefix per test), the real web app, real
arq workers, and the awork sandbox as the only stand-in.

Redis: `TEST_REDIS_URL` (default redis://127.0.0.1:6379/9; `make test` starts one if none
answers). A test that needs Redis fails — never skips — when it is missing. The constants and
`make_settings` live in `tests.support.config`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from service.app import create_app
from service.contract.redis import connect, purge_prefix
from service.contract.settings import Settings
from service.sandbox import SandboxState, create_sandbox, running, seed_workspace
from tests.support.config import DEFAULT_RULES, REDIS_URL, make_settings


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `pytest -n` (`make test`): every test on its own, except the fault tests, which go to
    one process and run one after the other (each starts processes of its own and measures them;
    their figures make one report). xdist's own `xdist_group` does not work with pytest 9.2 (it
    sets `item._nodeid`, which pytest no longer reads)."""
    from xdist.scheduler import LoadScopeScheduling

    class FaultsTogether(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "faults" if nodeid.startswith("tests/faults/") else nodeid

    return FaultsTogether(config, log)


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
