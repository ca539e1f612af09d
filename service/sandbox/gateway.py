"""What stands in front of every API route, in awork's order: URL length, token, rate limit,
injected faults; plus a `Trace-Id` on every answer and a `CallRecord` of every API call.

A pure ASGI middleware (stack-notes 8): it needs the raw request and response messages.
Control routes (`/_sandbox/...`) pass through with only a `Trace-Id`.

Order of refusals: 414 (URL over 8 KiB) -> 401 (token) -> forced 429 -> rate-limit 429 ->
injected 500/503. An unauthenticated call does not count against the rate limit; a forced 429
does not either. Injected 5xx happen before the handler (nothing changes); injected slowness
after it (the change is made, the answer is late).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.sandbox.responses import ApiError, error_response
from service.sandbox.state import CallRecord, SandboxState

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sandbox/"
MAX_URL_BYTES = 8192


class Gateway:
    def __init__(self, app: ASGIApp, state: SandboxState, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace = uuid.uuid4().hex
        scope.setdefault("state", {})["trace_id"] = trace
        exchange = _Exchange(send, trace)
        if scope["path"].startswith(CONTROL_PREFIX):
            await self._forward(scope, receive, exchange)
            return
        body = bytearray()

        async def capture() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        started = time.time()
        try:
            refusal = self._refusal(scope, exchange)
            if refusal is not None:
                await error_response(refusal, trace)(scope, receive, exchange.send)
            else:
                exchange.delay = self.state.faults.roll_delay()
                await self._forward(scope, capture, exchange)
        finally:
            self.state.calls.append(self._record(scope, exchange.status, body, started))

    async def _forward(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        """Run the route; a sandbox bug still answers an `ErrorResponse` with the trace id."""
        try:
            await self.app(scope, receive, exchange.send)
        except Exception:
            if exchange.started:
                raise
            logger.exception("sandbox route failed", extra={"trace_id": exchange.trace})
            error = ApiError(500, "server-error", "Unexpected error in the sandbox.")
            await error_response(error, exchange.trace)(scope, receive, exchange.send)

    def _refusal(self, scope: Scope, exchange: _Exchange) -> ApiError | None:
        faults = self.state.faults
        if len(scope.get("raw_path", b"")) + 1 + len(scope["query_string"]) > MAX_URL_BYTES:
            return ApiError(414, "request-url-too-long", f"The URL is over {MAX_URL_BYTES} bytes.")
        if not self._authorized(scope):
            return ApiError(
                401,
                "workspaceid-missing",
                "Missing or invalid bearer token.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if faults.take_forced_429():
            return _too_many(self.state.limiter.forced(faults))
        verdict = self.state.limiter.admit(faults)
        exchange.headers = verdict.headers
        if not verdict.allowed:
            return _too_many(verdict.headers)
        status = faults.roll_error()
        if status is not None:
            return ApiError(status, "server-error", "Injected by the sandbox (faults.error_rate).")
        return None

    def _authorized(self, scope: Scope) -> bool:
        expected = self.state.workspace.api_token.encode()
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), expected)
        return False

    def _record(self, scope: Scope, status: int, body: bytearray, started: float) -> CallRecord:
        try:
            parsed: Any = orjson.loads(bytes(body)) if body else None
        except orjson.JSONDecodeError:
            parsed = None
        return CallRecord(
            method=scope["method"],
            path=scope["path"],
            template=self._template(scope),
            query=scope["query_string"].decode("latin-1"),
            status=status,
            json=parsed,
            time=started,
        )

    def _template(self, scope: Scope) -> str | None:
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
            if match is Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return partial


def _too_many(headers: dict[str, str]) -> ApiError:
    return ApiError(
        429,
        "too-many-requests",
        f"Rate limit exceeded; retry in {headers['ratelimit-reset']} s.",
        headers=headers,
    )


class _Exchange:
    """The response side of one call: adds headers, remembers the status, applies the delay."""

    def __init__(self, send: Send, trace: str) -> None:
        self._send = send
        self.trace = trace
        self.status = 500  # if the app raises before answering
        self.started = False
        self.headers: dict[str, str] = {}
        self.delay = 0.0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(b"Trace-Id", self.trace.encode())] + [
                (k.encode(), v.encode()) for k, v in self.headers.items()
            ]
            headers = list(message.get("headers", [])) + [
                h for h in extra if h[0].lower() not in present
            ]
            message = {**message, "headers": headers}
            if self.delay:
                await asyncio.sleep(self.delay)
        await self._send(message)
