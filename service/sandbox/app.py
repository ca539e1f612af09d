"""`create_sandbox`: the fake awork API as a Starlette app.

    app = create_sandbox(seed_workspace(), faults=Faults(), webhook_url="http://…/webhooks/awork",
                         webhook_headers={"X-Webhook-Token": "…"})
    app.state.sandbox  # SandboxState: workspace, faults, calls, webhooks, deliveries

Routes sit at the app root, as under `https://api.awork.com/api/v1`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from service.sandbox import bulk, control, lookups, simplified, timeentries, timers, webhooks
from service.sandbox.envelopes import TIME_ENTRY_EVENTS
from service.sandbox.faults import Faults
from service.sandbox.gateway import Gateway
from service.sandbox.responses import ApiError, error_response, trace_id
from service.sandbox.state import SandboxState
from service.sandbox.workspace import Workspace

_HTTP_CODES = {404: "not-found", 405: "method-not-allowed"}
CHECK_VARIABLE = "SANDBOX_CHECK_RESPONSES"


def create_sandbox(
    workspace: Workspace,
    faults: Faults | None = None,
    webhook_url: str | None = None,
    webhook_headers: dict[str, str] | None = None,
    *,
    check_responses: bool | None = None,
) -> Starlette:
    """A sandbox serving `workspace`. `webhook_url` (with `webhook_headers`, all sent on every
    delivery) is registered as an active webhook for the time-entry events. `check_responses`:
    validate every answer against the published schemas (`conformance`); None reads the
    environment variable `SANDBOX_CHECK_RESPONSES` (`1`, `true`, `yes`: on)."""
    state = SandboxState(workspace, faults if faults is not None else Faults())
    if check_responses is None:
        check_responses = os.environ.get(CHECK_VARIABLE, "").lower() in ("1", "true", "yes")
    state.check_responses = check_responses
    if webhook_url is not None:
        _register(state, webhook_url, dict(webhook_headers or {}))
    routes = [
        *control.routes,
        *lookups.routes,
        *bulk.routes,
        *simplified.routes,
        *timers.routes,
        *timeentries.routes,
        *webhooks.routes,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.aclose()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Gateway, state=state, routes=routes)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app


def _register(state: SandboxState, url: str, headers: dict[str, str]) -> None:
    first = next(iter(headers.items()), None)
    form = {
        "name": "sandbox",
        "uri": url,
        "events": ",".join(TIME_ENTRY_EVENTS),
        "isActive": True,
        "authenticationType": "header" if first else "none",
        "authentication": f"{first[0]}={first[1]}" if first else None,
    }
    webhooks.add_hook(state, form).headers = headers


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, trace_id(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid-operation")
    error = ApiError(exc.status_code, code, exc.detail, headers=dict(exc.headers or {}))
    return error_response(error, trace_id(request))
