"""Read-only routes a billing rule may need (api-notes 6): the API user, types of work,
projects, tasks, companies, custom field definitions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox.contract import load_contract
from service.sandbox.paging import list_response, query
from service.sandbox.responses import ApiError, JSONResponse
from service.sandbox.state import SandboxState
from service.sandbox.workspace import Workspace


def _workspace(request: Request) -> Workspace:
    state: SandboxState = request.app.state.sandbox
    return state.workspace


async def me(request: Request) -> Response:
    """`UserAndWorkspace` of the API user the token belongs to."""
    ws = _workspace(request)
    workspace = {"id": ws.id, "name": ws.name, "url": ws.url}
    return JSONResponse({**ws.api_user, "workspace": workspace})


async def types_of_work(request: Request) -> Response:
    show_archived = query(request).get("showarchived", "false").lower() == "true"
    items = [
        t
        for t in _workspace(request).types_of_work.values()
        if show_archived or not t["isArchived"]
    ]
    return list_response(request, items, fields=load_contract().properties("TypeOfWork"))


async def custom_field_definitions(request: Request) -> Response:
    items = list(_workspace(request).custom_field_definitions.values())
    return list_response(request, items, fields=None)


def _listing(table: str, schema: str) -> Route:
    """`GET /projects`, `/tasks`, `/companies` with filterby/orderby/paging, as awork serves
    them (api-notes 6: e.g. `filterby=id in (guid'…')`)."""

    async def endpoint(request: Request) -> Response:
        items = list(getattr(_workspace(request), table).values())
        return list_response(request, items, fields=load_contract().properties(schema))

    return Route(f"/{table}", endpoint, methods=["GET"])


def _by_id(table: str, label: str) -> Route:
    async def endpoint(request: Request) -> Response:
        entity_id = request.path_params["id"].lower()
        entity = getattr(_workspace(request), table).get(entity_id)
        if entity is None:
            raise ApiError(404, "not-found", f"{label} {entity_id} not found.")
        return JSONResponse(entity)

    path = {"types_of_work": "/typeofwork"}.get(table, f"/{table}")
    return Route(f"{path}/{{id}}", endpoint, methods=["GET"])


routes = [
    Route("/me", me, methods=["GET"]),
    Route("/users/me", me, methods=["GET"]),
    Route("/typeofwork", types_of_work, methods=["GET"]),
    Route("/customfielddefinitions", custom_field_definitions, methods=["GET"]),
    _by_id("types_of_work", "Type of work"),
    _listing("projects", "Project"),
    _listing("tasks", "TaskModel"),
    _listing("companies", "Company"),
    _by_id("projects", "Project"),
    _by_id("tasks", "Task"),
    _by_id("companies", "Company"),
]
