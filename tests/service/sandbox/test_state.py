"""The sandbox's state: its background deliveries settle."""

from __future__ import annotations

import asyncio

import pytest

from service.sandbox import create_sandbox, seed_workspace


@pytest.mark.timeout(10)
async def test_settling_returns_when_a_finished_delivery_is_not_yet_dropped() -> None:
    """Since Python 3.12 gathering finished tasks does not yield: a task that finished before
    its done callback ran must not make `settle` spin (it did, on 3.13, until the test timed
    out)."""
    state = create_sandbox(seed_workspace(entries=1, seed=1)).state.sandbox

    async def delivered() -> None:
        return None

    state.spawn(delivered())
    await asyncio.sleep(0)  # it ran and finished; dropping it from the set is still to come
    await state.settle(timeout=2)
