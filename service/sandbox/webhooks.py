"""Managing webhooks through the API (api-notes 1.1): `GET/POST /webhooks`,
`GET/PUT/DELETE /webhooks/{id}`, `GET /webhooks/{id}/logs`, `GET /webhooks/eventtypes`.

All need admin rights (401 otherwise). `events` is one comma-separated string of names from
`EVENT_TYPES`; `authenticationType` is `none` or `header`, the latter with
`authentication: "Name=Value"`, the one static header awork sends with every delivery.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox.clock import iso_ticks, now_ticks
from service.sandbox.delivery import Hook
from service.sandbox.paging import list_response
from service.sandbox.permissions import Actor, caller
from service.sandbox.responses import ApiError, JSONResponse, read_form
from service.sandbox.state import SandboxState, sandbox_of

EVENT_TYPES = (
    *("absence_added", "absence_deleted", "absence_updated"),
    *("company_added", "company_deleted", "company_type_changed", "company_updated"),
    *("project_added", "project_comment_added", "project_deleted", "projectmember_added"),
    *("projectmember_deleted", "project_status_changed", "project_type_changed", "project_updated"),
    *("task_added", "taskassignment_added", "taskassignment_deleted", "task_comment_added"),
    *("task_deleted", "tasklist_added", "tasklist_deleted", "tasklist_updated"),
    *("task_status_changed", "task_type_changed", "task_updated"),
    *("timetracking_added", "timetracking_deleted", "timetracking_type_changed"),
    *("timetracking_updated", "user_activation_changed", "user_added", "user_deleted"),
    *("user_status_changed", "user_updated"),
)


def add_hook(
    state: SandboxState,
    form: dict[str, Any],
    *,
    hook_id: str | None = None,
    actor: Actor | None = None,
) -> Hook:
    """Register a webhook from a `WebhookConfigForm` (checked here; `ApiError` 400)."""
    hook_id = hook_id or str(uuid.uuid4())
    previous = state.hooks.get(hook_id)
    now = iso_ticks(now_ticks())
    by = state.workspace.api_user.get("id") if actor is None else actor.id
    config = {
        "id": hook_id,
        "name": form["name"],
        "uri": _uri(form["uri"]),
        "events": _events(form["events"]),
        "isActive": form["isActive"],
        "authenticationType": form["authenticationType"],
        "authentication": form.get("authentication"),
        "language": form.get("language"),
        "onlyTriggerForMainEntityChanges": form.get("onlyTriggerForMainEntityChanges", False),
        "receiverType": "slack" if "hooks.slack.com" in form["uri"] else "custom",
        "lastFailureReason": previous.config["lastFailureReason"] if previous else None,
        "createdOn": previous.config["createdOn"] if previous else now,
        "createdBy": previous.config["createdBy"] if previous else by,
        "updatedOn": now,
        "updatedBy": by,
    }
    hook = Hook(config=config, headers=_headers(form))
    if previous is not None:
        hook.logs = previous.logs
    state.hooks[hook_id] = hook
    return hook


def _uri(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("uri", "Must be an absolute http(s) URL.")
    return value


def _events(value: str) -> str:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown or not names:
        raise _invalid("events", f"Unknown event type(s): {', '.join(unknown) or '(none)'}.")
    return ",".join(names)


def _headers(form: dict[str, Any]) -> dict[str, str]:
    kind = form["authenticationType"]
    if kind == "none":
        return {}
    if kind != "header":
        raise _invalid("authenticationType", "Must be 'none' or 'header'.")
    name, sep, value = (form.get("authentication") or "").partition("=")
    if not sep or not name.strip():
        raise _invalid("authentication", "Must be 'HeaderName=HeaderValue'.")
    return {name.strip(): value}


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(
        400,
        "validation-failed",
        message,
        validation_errors=[{"property": name, "message": message}],
    )


def _admin(request: Request) -> SandboxState:
    caller(request).require_admin("Managing webhooks")
    return sandbox_of(request)


def _hook(request: Request) -> tuple[SandboxState, Hook]:
    state = _admin(request)
    hook = state.hooks.get(request.path_params["id"].lower())
    if hook is None:
        raise ApiError(404, "not-found", "Webhook not found.")
    return state, hook


async def list_hooks(request: Request) -> Response:
    configs = [hook.config for hook in _admin(request).hooks.values()]
    return list_response(request, configs, fields=None)


async def create_hook(request: Request) -> Response:
    state = _admin(request)
    form = await read_form(request, "WebhookConfigForm")
    return JSONResponse(add_hook(state, form, actor=caller(request)).config)


async def event_types(request: Request) -> Response:
    return JSONResponse(list(EVENT_TYPES))


async def get_hook(request: Request) -> Response:
    return JSONResponse(_hook(request)[1].config)


async def put_hook(request: Request) -> Response:
    state, hook = _hook(request)
    form = await read_form(request, "WebhookConfigForm")
    return JSONResponse(add_hook(state, form, hook_id=hook.id, actor=caller(request)).config)


async def delete_hook(request: Request) -> Response:
    state, hook = _hook(request)
    del state.hooks[hook.id]
    return Response(status_code=204)


async def hook_logs(request: Request) -> Response:
    return list_response(request, list(_hook(request)[1].logs), fields=None)


routes = [
    Route("/webhooks", list_hooks, methods=["GET"]),
    Route("/webhooks", create_hook, methods=["POST"]),
    Route("/webhooks/eventtypes", event_types, methods=["GET"]),
    Route("/webhooks/{id}", get_hook, methods=["GET"]),
    Route("/webhooks/{id}", put_hook, methods=["PUT"]),
    Route("/webhooks/{id}", delete_hook, methods=["DELETE"]),
    Route("/webhooks/{id}/logs", hook_logs, methods=["GET"]),
]
