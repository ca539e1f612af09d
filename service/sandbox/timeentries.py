"""The single-entry and listing routes of awork's time tracking (api-notes 2.3, 2.4).

- `GET /timeentries`, `GET /projects/{id}/timeentries`, `GET /tasks/{id}/timeentries`: lists with
  `filterby`, `orderby`, `page`, `pageSize` (`paging`); an unknown project or task is a 404.
- `POST /timeentries` (`TimeEntryPostForm`, see `forms`), `GET/PUT/DELETE /timeentries/{id}`,
  `POST /timeentries/{id}/removebreaks` (`timekeeping`).
Permission failures are 401 (`permissions`); every change sends its webhooks (`envelopes`).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import envelopes, forms, timekeeping
from service.sandbox.contract import load_contract
from service.sandbox.models import Entity
from service.sandbox.paging import list_response
from service.sandbox.permissions import caller, require_single
from service.sandbox.responses import ApiError, JSONResponse, read_form
from service.sandbox.state import sandbox_of


def entry_of(request: Request) -> Entity:
    """The entry the path names, else 404."""
    entry_id = request.path_params["id"].lower()
    entry = sandbox_of(request).workspace.entries.get(entry_id)
    if entry is None:
        raise ApiError(404, "not-found", f"Time entry {entry_id} not found.")
    return entry


def listing(request: Request, entries: Iterable[Entity]) -> Response:
    """A `TimeTracking` list as the request filters, orders and pages it."""
    ws = sandbox_of(request).workspace
    fields = load_contract().properties("TimeTracking")
    return list_response(request, list(entries), fields=fields, view=ws.filter_view)


async def list_entries(request: Request) -> Response:
    return listing(request, sandbox_of(request).workspace.entries.values())


async def project_entries(request: Request) -> Response:
    ws = sandbox_of(request).workspace
    project_id = _known(ws.projects, request, "Project")
    return listing(request, (e for e in ws.entries.values() if e.get("projectId") == project_id))


async def task_entries(request: Request) -> Response:
    ws = sandbox_of(request).workspace
    task_id = _known(ws.tasks, request, "Task")
    return listing(request, (e for e in ws.entries.values() if e.get("taskId") == task_id))


async def create_entry(request: Request) -> Response:
    state, actor = sandbox_of(request), caller(request)
    form = await read_form(request, "TimeEntryPostForm")
    entry = state.workspace.add_entry(forms.new_entry(state.workspace, form), by=actor.user)
    state.publish([envelopes.added(entry, triggered_by=actor.person())])
    return JSONResponse(entry)


async def get_entry(request: Request) -> Response:
    return JSONResponse(entry_of(request))


async def put_entry(request: Request) -> Response:
    state, actor, entry = sandbox_of(request), caller(request), entry_of(request)
    form = await read_form(request, "TimeTrackingPutForm")
    values = forms.replacement(state.workspace, entry, form)
    require_single(state.workspace, actor, entry["id"], values)
    changes = state.workspace.update_entry(entry["id"], values, by=actor.user)
    state.publish_changes([(entry["id"], changes)], actor.person())
    return JSONResponse(state.workspace.entries[entry["id"]])


async def delete_entry(request: Request) -> Response:
    state, actor, entry = sandbox_of(request), caller(request), entry_of(request)
    require_single(state.workspace, actor, entry["id"], {}, delete=True)
    gone = state.workspace.remove_entry(entry["id"], by=actor.user)
    state.publish([envelopes.deleted(gone, triggered_by=actor.person())])
    return Response(status_code=204)


async def remove_breaks(request: Request) -> Response:
    state, actor, entry = sandbox_of(request), caller(request), entry_of(request)
    require_single(state.workspace, actor, entry["id"], {})
    changes = timekeeping.remove_breaks(state.workspace, entry, actor.user)
    state.publish_changes([(entry["id"], changes)], actor.person())
    return JSONResponse(entry)


def _known(table: dict[str, Entity], request: Request, label: str) -> str:
    """The id the path names when `table` holds it, else 404."""
    entity_id: str = request.path_params["id"].lower()
    if entity_id not in table:
        raise ApiError(404, "not-found", f"{label} {entity_id} not found.")
    return entity_id


routes = [
    Route("/timeentries", list_entries, methods=["GET"]),
    Route("/timeentries", create_entry, methods=["POST"]),
    Route("/timeentries/{id}", get_entry, methods=["GET"]),
    Route("/timeentries/{id}", put_entry, methods=["PUT"]),
    Route("/timeentries/{id}", delete_entry, methods=["DELETE"]),
    Route("/timeentries/{id}/removebreaks", remove_breaks, methods=["POST"]),
    Route("/projects/{id}/timeentries", project_entries, methods=["GET"]),
    Route("/tasks/{id}/timeentries", task_entries, methods=["GET"]),
]
