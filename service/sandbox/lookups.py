"""Read-only routes a billing rule may need (api-notes 6): the caller, types of work, projects
(with `trackedDuration`, `budgets`) and their retainers, tasks, companies, custom field
definitions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import budgets
from service.sandbox.contract import load_contract
from service.sandbox.models import Entity
from service.sandbox.paging import list_response, query
from service.sandbox.permissions import caller
from service.sandbox.responses import ApiError, JSONResponse
from service.sandbox.state import sandbox_of
from service.sandbox.workspace import Workspace


def _workspace(request: Request) -> Workspace:
    return sandbox_of(request).workspace


async def me(request: Request) -> Response:
    """`UserAndWorkspace` of the user the token belongs to (`permissions`)."""
    ws = _workspace(request)
    workspace = {"id": ws.id, "name": ws.name, "url": ws.url}
    return JSONResponse({**caller(request).user, "workspace": workspace})


async def types_of_work(request: Request) -> Response:
    show_archived = query(request).get("showarchived", "false").lower() == "true"
    items = [
        t
        for t in _workspace(request).types_of_work.values()
        if show_archived or not t["isArchived"]
    ]
    return list_response(request, items, fields=load_contract().properties("TypeOfWork"))


async def project_types_of_work(request: Request) -> Response:
    """Every active type of work may be used in every project (the sandbox has no limits)."""
    _project(request)
    items = [t for t in _workspace(request).types_of_work.values() if not t["isArchived"]]
    return JSONResponse(items)


async def custom_field_definitions(request: Request) -> Response:
    items = list(_workspace(request).custom_field_definitions.values())
    return list_response(request, items, fields=None)


async def projects(request: Request) -> Response:
    ws = _workspace(request)
    totals = budgets.tracked(ws)
    items = [budgets.project_view(p, totals) for p in ws.projects.values()]
    return list_response(request, items, fields=load_contract().properties("Project"))


async def project(request: Request) -> Response:
    return JSONResponse(
        budgets.project_view(_project(request), budgets.tracked(_workspace(request)))
    )


async def retainers(request: Request) -> Response:
    ws = _workspace(request)
    items = [
        budgets.retainer_view(ws, r) for r in budgets.retainers_of(ws, _project(request)["id"])
    ]
    return list_response(request, items, fields=load_contract().properties("Retainer"))


async def retainer(request: Request) -> Response:
    ws = _workspace(request)
    found = ws.retainers.get(request.path_params["retainer_id"].lower())
    if found is None or found["projectId"] != _project(request)["id"]:
        raise ApiError(404, "not-found", "Retainer not found.")
    return JSONResponse(budgets.retainer_view(ws, found))


def _project(request: Request) -> Entity:
    project_id = request.path_params["id"].lower()
    found = _workspace(request).projects.get(project_id)
    if found is None:
        raise ApiError(404, "not-found", f"Project {project_id} not found.")
    return found


def _listing(table: str, schema: str) -> Route:
    """`GET /tasks`, `/companies` with filterby/orderby/paging, as awork serves them
    (api-notes 6: e.g. `filterby=id in (guid'…')`)."""

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
    Route("/projects", projects, methods=["GET"]),
    _listing("tasks", "TaskModel"),
    _listing("companies", "Company"),
    Route("/projects/{id}", project, methods=["GET"]),
    Route("/projects/{id}/typeofwork", project_types_of_work, methods=["GET"]),
    Route("/projects/{id}/retainers", retainers, methods=["GET"]),
    Route("/projects/{id}/retainers/{retainer_id}", retainer, methods=["GET"]),
    _by_id("tasks", "Task"),
    _by_id("companies", "Company"),
]
