"""Fixtures of the fault-injection tests: the figures report and a Redis server of their own.

Under `pytest -n` (`make test`) they run in one process, one after the other (the scheduler in
`tests/conftest.py`): each starts processes of its own and measures them, and their figures make
one report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Figures, RedisServer, write_report


@pytest.fixture(scope="session")
def fault_figures() -> Iterator[list[Figures]]:
    """Every fault test's figures; written to `var/faults/report.md` at the end of the run."""
    rows: list[Figures] = []
    yield rows
    if rows:
        write_report(rows)


@pytest.fixture
def report(fault_figures: list[Figures]) -> Callable[[Figures], None]:
    """Print a test's figures and keep them for the report."""

    def add(figures: Figures) -> None:
        print(f"\n{figures.line()}")
        fault_figures.append(figures)

    return add


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A `redis-server` with AOF (fsync every second, as deployed), stopped afterwards."""
    server = RedisServer(tmp_path, "--appendonly", "yes", "--appendfsync", "everysec")
    await server.start()
    yield server
    server.stop()
