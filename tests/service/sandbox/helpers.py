"""Test helpers for the sandbox: a running sandbox with a client, and a webhook receiver."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import (
    ADMIN_TOKEN,
    MEMBER_TOKEN,
    SandboxState,
    Workspace,
    create_sandbox,
    running,
)
from service.sandbox.contract import load_contract

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MEMBER = {"Authorization": f"Bearer {MEMBER_TOKEN}"}
UNKNOWN_ID = "0f0f0f0f-0000-4000-8000-00000000abcd"


PUT_FIELDS = (
    "isBillable",
    "isBilled",
    "taskId",
    "projectId",
    "note",
    "startDateUtc",
    "startTimeUtc",
    "endDateUtc",
    "endTimeUtc",
    "startDateLocal",
    "startTimeLocal",
    "endDateLocal",
    "endTimeLocal",
    "timezone",
    "duration",
    "breakDuration",
    "typeOfWorkId",
    "userId",
)
"""The properties of `TimeTrackingPutForm`."""


def put_form(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A full-replace PUT form: the entry as read, with `changes`."""
    return {**{k: entry[k] for k in PUT_FIELDS if k in entry}, **changes}


def batch_lists(body: dict[str, Any]) -> dict[str, list[str]]:
    """The id lists of a `MultiStatusResult` (checked against its schema)."""
    load_contract().check("MultiStatusResult", body)
    return {name: body[name]["ids"] for name in ("ok", "notFound", "unauthorized", "badRequest")}


@dataclass
class Sandbox:
    state: SandboxState
    client: httpx.AsyncClient
    url: str

    @property
    def ws(self) -> Workspace:
        return self.state.workspace

    def named(self, table: str, name: str) -> str:
        """The id of the project, type of work, task, ... called `name`."""
        entities: dict[str, dict[str, Any]] = getattr(self.ws, table)
        return next(i for i, e in entities.items() if name in (e.get("name"), e.get("firstName")))


def entry_ids(sandbox: Sandbox, count: int, **match: Any) -> list[str]:
    """`count` ids of entries whose attributes equal `match`."""
    found = [
        i for i, e in sandbox.ws.entries.items() if all(e.get(k) == v for k, v in match.items())
    ]
    assert len(found) >= count
    return found[:count]


@asynccontextmanager
async def open_sandbox(workspace: Workspace, **options: Any) -> AsyncIterator[Sandbox]:
    """A running sandbox (real HTTP on loopback) and a client carrying the API token.

    The sandbox checks its own answers against the published schemas; any violation fails the
    test (the answer was a 500 already, and the list must stay empty).
    """
    app = create_sandbox(workspace, **{"check_responses": True, **options})
    state: SandboxState = app.state.sandbox
    async with running(app) as url, httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        yield Sandbox(state, client, url)
    assert state.violations == [], "the sandbox broke the published contract"


@dataclass
class Receiver:
    """A webhook receiver: records every POST, answers from `script` (then `default`)."""

    script: deque[int] = field(default_factory=deque)
    default: int = 204
    delay: float = 0.0
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self._endpoint, methods=["POST"])])

    async def _endpoint(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.json()))
        self._arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        return Response(status_code=self.script.popleft() if self.script else self.default)

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self._arrived.clear()
                await self._arrived.wait()


@asynccontextmanager
async def open_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with running(receiver.app()) as url:
        receiver.url = f"{url}/hook"
        yield receiver
