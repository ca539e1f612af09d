"""Operator and test controls under `/_sandbox/` (no token, not rate-limited, not recorded).

- `GET  /_sandbox/stats`        API calls by method, route and status; deliveries; webhooks
- `GET  /_sandbox/entries`      every time entry as `GET /timeentries/{id}` returns it
- `GET  /_sandbox/faults`, `POST /_sandbox/faults`  read / partly update `Faults`
- `POST /_sandbox/reset-calls`  forget the recorded calls
- `POST /_sandbox/fanout`       people change entries; one webhook per entry (see `fanout`)
- `GET  /_sandbox/keys`         the API keys the sandbox accepts and whom each acts as
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox.envelopes import TIME_ENTRY_EVENTS, envelope
from service.sandbox.forms import check_type_of_work
from service.sandbox.models import Entity
from service.sandbox.permissions import known_keys
from service.sandbox.responses import ApiError, JSONResponse
from service.sandbox.state import SandboxState
from service.sandbox.workspace import Change, Workspace

FANOUT_KEYS = {"project_id", "entry_ids", "limit", "by_user_id", "note_suffix", "set", "event_type"}
SETTABLE = {"isBillable": bool, "isBilled": bool, "typeOfWorkId": str}


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _object(request: Request, allowed: set[str]) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as e:
        raise ApiError(400, "validation-failed", f"Invalid JSON: {e}") from e
    if not isinstance(body, dict):
        raise ApiError(400, "validation-failed", "The body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "validation-failed", f"Unknown field(s): {', '.join(unknown)}.")
    return body


async def stats(request: Request) -> Response:
    state = _state(request)
    groups = Counter((c.method, c.template, c.status) for c in state.calls)
    attempts = Counter(d.status for d in state.deliveries)
    body = {
        "total": len(state.calls),
        "by_status": {str(k): v for k, v in sorted(Counter(c.status for c in state.calls).items())},
        "calls": [
            {"method": m, "template": t, "status": s, "count": n}
            for (m, t, s), n in sorted(groups.items(), key=lambda item: str(item[0]))
        ],
        "deliveries": {
            "attempts": len(state.deliveries),
            "ok": sum(1 for d in state.deliveries if d.ok),
            "by_status": {str(k): v for k, v in sorted(attempts.items())},
        },
        "webhooks": [
            {k: h.config[k] for k in ("id", "uri", "isActive", "lastFailureReason")}
            for h in state.hooks.values()
        ],
    }
    return JSONResponse(body)


async def entries(request: Request) -> Response:
    return JSONResponse(list(_state(request).workspace.entries.values()))


async def faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        changes = await _object(request, set(state.faults.as_dict()))
        try:
            state.faults.update(changes)
        except ValueError as e:
            raise ApiError(400, "validation-failed", str(e)) from e
    return JSONResponse(state.faults.as_dict())


async def keys(request: Request) -> Response:
    return JSONResponse(known_keys(_state(request).workspace))


async def reset_calls(request: Request) -> Response:
    _state(request).reset_calls()
    return Response(status_code=204)


async def fanout(request: Request) -> Response:
    """Simulate people at work, then deliver one webhook per entry and report.

    Body (all optional): `entry_ids` or `project_id` (default: every entry), `limit`,
    `by_user_id` (default: the first person who is not the API user), `event_type` (default
    `timetracking_updated`), and what the person changes: `note_suffix` (appended to the note)
    and/or `set` (`isBillable`, `isBilled`, `typeOfWorkId`). Without a change it is a project
    change fanning out: each entry only gets a new version, the webhook has no `changes`, and
    webhooks with `onlyTriggerForMainEntityChanges` do not receive it.
    """
    state = _state(request)
    ws = state.workspace
    body = await _object(request, FANOUT_KEYS)
    ids = _select(ws, body)
    person = _person(ws, body.get("by_user_id"))
    values = _values(ws, body.get("set") or {})
    suffix = body.get("note_suffix")
    event_type = body.get("event_type", "timetracking_updated")
    if event_type not in TIME_ENTRY_EVENTS:
        raise ApiError(400, "validation-failed", f"event_type must be one of {TIME_ENTRY_EVENTS}.")
    direct = bool(values) or suffix is not None
    events = []
    for entry_id in ids:
        changes = _edit(ws, entry_id, values, suffix, person) if direct else None
        if not direct:
            ws.touch_entry(entry_id)
        events.append(
            envelope(event_type, ws.entries[entry_id], triggered_by=person, changes=changes)
        )
    report = await state.deliver(events, nested=not direct)
    return JSONResponse({**report.as_dict(), "entry_ids": ids})


def _select(ws: Workspace, body: dict[str, Any]) -> list[str]:
    if body.get("entry_ids") is not None:
        ids = [str(i).lower() for i in body["entry_ids"]]
        unknown = [i for i in ids if i not in ws.entries]
        if unknown:
            raise ApiError(400, "not-found", "Unknown entry ids.", details=unknown)
    elif body.get("project_id") is not None:
        project_id = str(body["project_id"]).lower()
        if project_id not in ws.projects:
            raise ApiError(400, "not-found", f"Unknown project {project_id}.")
        ids = [i for i, e in ws.entries.items() if e.get("projectId") == project_id]
    else:
        ids = list(ws.entries)
    limit = body.get("limit")
    if limit is not None and not (isinstance(limit, int) and limit >= 0):
        raise ApiError(400, "validation-failed", "limit must be an integer >= 0.")
    return ids[:limit] if limit is not None else ids


def _person(ws: Workspace, user_id: str | None) -> Entity:
    if user_id is None:
        user_id = next(u for u in ws.users if u != ws.api_user.get("id"))
    if user_id.lower() not in ws.users:
        raise ApiError(400, "not-found", f"Unknown user {user_id}.")
    return ws.person(user_id.lower())


def _values(ws: Workspace, wanted: dict[str, Any]) -> dict[str, Any]:
    for key, value in wanted.items():
        if key not in SETTABLE or not isinstance(value, SETTABLE[key]):
            raise ApiError(400, "validation-failed", f"set.{key}: not settable or wrong type.")
    if "typeOfWorkId" in wanted:
        wanted = {**wanted, "typeOfWorkId": check_type_of_work(ws, wanted["typeOfWorkId"], "set")}
    return dict(wanted)


def _edit(
    ws: Workspace, entry_id: str, values: dict[str, Any], suffix: str | None, person: Entity
) -> list[Change]:
    """A person's edit; saving without a difference still bumps the version, as a UI save does."""
    edit = dict(values)
    if suffix is not None:
        edit["note"] = (ws.entries[entry_id].get("note") or "") + suffix
    return ws.update_entry(entry_id, edit, by=person) or ws.touch_entry(entry_id, by=person)


routes = [
    Route("/_sandbox/stats", stats, methods=["GET"]),
    Route("/_sandbox/entries", entries, methods=["GET"]),
    Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
    Route("/_sandbox/reset-calls", reset_calls, methods=["POST"]),
    Route("/_sandbox/fanout", fanout, methods=["POST"]),
    Route("/_sandbox/keys", keys, methods=["GET"]),
]
