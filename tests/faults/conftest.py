"""Fixtures of the fault-injection tests: the figures report and a Redis server of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Figures, RedisServer, write_report


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (its hook has no order)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n` (`make test`) the fault tests share one process, one after the other:
    each starts processes of its own and measures them, and their figures make one report."""
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(pytest.mark.xdist_group("faults"))


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
