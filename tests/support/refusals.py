"""awork refusing some calls for good (a 400, 401, 403 or 404 with awork's error body and a
Trace-Id), in front of the sandbox: for the failure modes the sandbox's random faults cannot
aim at one route or one entry."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

Rule = Callable[[str, str, dict[str, list[str]]], int | None]
"""(method, path, query) -> the status to refuse with, or None to let the call through."""


class Refusing:
    """An ASGI app: `sandbox` behind it, except for the calls `rule` refuses."""

    def __init__(self, sandbox: ASGIApp, rule: Rule) -> None:
        self.sandbox = sandbox
        self.rule = rule
        self.refused: list[tuple[str, str, str]] = []
        """(method, path, trace id) of every refusal."""

    @property
    def state(self) -> Any:
        return self.sandbox.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = parse_qs(scope.get("query_string", b"").decode())
            status = self.rule(scope["method"], scope["path"], query)
            if status is not None:
                await self._refuse(scope, status, send)
                return
        await self.sandbox(scope, receive, send)

    async def _refuse(self, scope: Scope, status: int, send: Send) -> None:
        trace = secrets.token_hex(16)
        self.refused.append((scope["method"], scope["path"], trace))
        body = orjson.dumps(
            {
                "code": "unauthorized" if status in (401, 403) else "invalid-operation",
                "description": "refused on purpose by the test",
                "link": "https://developers.awork.com/error-handling",
                "traceId": trace,
            }
        )
        headers = [(b"content-type", b"application/json"), (b"trace-id", trace.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
