"""What stands in front of every API route, in awork's order: URL length, token, rate limit,
injected faults; plus a `Trace-Id` on every answer and a `CallRecord` of every API call.

The token's caller (`permissions.Actor`) goes into `scope["state"]["actor"]` for the routes;
before a route runs, timers due to stop after 24 h are stopped (`SandboxState.tick`); with
`SandboxState.check_responses` the answer is held back and checked (`conformance`).

A pure ASGI middleware (stack-notes 8): it needs the raw request and response messages.
Control routes (`/_sandbox/...`) pass through with only a `Trace-Id`.

Order of refusals: 414 (URL over 8 KiB) -> 401 (token) -> forced 429 -> rate-limit 429 ->
injected 500/503. An unauthenticated call does not count against the rate limit; a forced 429
does not either. Injected 5xx happen before the handler (nothing changes); injected slowness
after it (the change is made, the answer is late).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.sandbox.conformance import CheckedSend, Conformance
from service.sandbox.permissions import Actor, resolve
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
        self.conformance = Conformance()

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
        template = self._template(scope)
        try:
            refusal = self._refusal(scope, exchange)
            if refusal is not None:
                await error_response(refusal, trace)(scope, receive, exchange.send)
            else:
                exchange.delay = self.state.faults.roll_delay()
                self.state.tick()
                await self._forward(
                    scope, capture, exchange, self._checked(scope, template, exchange)
                )
        finally:
            record = self._record(scope, template, exchange.status, body, started)
            self.state.calls.append(record)

    def _checked(self, scope: Scope, template: str | None, exchange: _Exchange) -> Send:
        """`exchange.send`, behind a check of the answer when `state.check_responses` is on."""
        method = scope["method"]
        if not self.state.check_responses or not self.conformance.describes(method, template):
            return exchange.send
        assert template is not None
        checked = CheckedSend(
            self.conformance,
            (method, template),
            exchange.send,
            self.state.violations.append,
            exchange.trace,
        )
        return checked.send

    async def _forward(
        self, scope: Scope, receive: Receive, exchange: _Exchange, send: Send | None = None
    ) -> None:
        """Run the route; a sandbox bug still answers an `ErrorResponse` with the trace id."""
        try:
            await self.app(scope, receive, send or exchange.send)
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
        actor = self._actor(scope)
        if actor is None:
            return ApiError(
                401,
                "workspaceid-missing",
                "Missing or invalid bearer token.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scope["state"]["actor"] = actor
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

    def _actor(self, scope: Scope) -> Actor | None:
        """Who the bearer token stands for (see `permissions`), None without a known one."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer":
                    return None
                return resolve(self.state.workspace, token.strip())
        return None

    def _record(
        self, scope: Scope, template: str | None, status: int, body: bytearray, started: float
    ) -> CallRecord:
        try:
            parsed: Any = orjson.loads(bytes(body)) if body else None
        except orjson.JSONDecodeError:
            parsed = None
        return CallRecord(
            method=scope["method"],
            path=scope["path"],
            template=template,
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
