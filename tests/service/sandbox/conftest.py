from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.sandbox import Workspace, seed_workspace
from tests.service.sandbox.helpers import Receiver, Sandbox, open_receiver, open_sandbox


@pytest.fixture
def workspace() -> Workspace:
    return seed_workspace(entries=60, seed=11)


@pytest.fixture
async def sandbox(workspace: Workspace) -> AsyncIterator[Sandbox]:
    async with open_sandbox(workspace) as box:
        yield box


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with open_receiver() as receiver:
        yield receiver


@pytest.fixture
async def hooked(workspace: Workspace, receiver: Receiver) -> AsyncIterator[Sandbox]:
    """A sandbox delivering webhooks to `receiver` with a token header."""
    headers = {"X-Webhook-Token": "s3cret"}
    async with open_sandbox(workspace, webhook_url=receiver.url, webhook_headers=headers) as box:
        box.state.delivery.retry_delay = 0.001
        yield box
