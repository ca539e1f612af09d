"""`GET /timeentries/simplified?grouping=…`: time entries in the `SimplifiedTimeTracking` model.

awork's reference says only "retrieves all time entries with a simplified model based on the
grouping parameter" and "the grouping type". The sandbox's reading: `grouping` is one of
`project`, `task`, `user`, `typeOfWork` (case-insensitive; absent or empty: no grouping) and keeps
the entries of one group together, groups ordered by name (entries without one first), the
`orderby` order kept inside each group; any other value is a 400. Every entry appears once and
carries all four nested models it has. `filterby` and `orderby` read the full time-entry model
(as on `GET /timeentries`), since awork filters on its database model, not on the answer's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import models
from service.sandbox.contract import load_contract
from service.sandbox.models import Entity
from service.sandbox.paging import list_response, query
from service.sandbox.responses import invalid
from service.sandbox.state import sandbox_of
from service.sandbox.workspace import Workspace

_KEYS = (
    "id",
    "duration",
    "startDateUtc",
    "startDateLocal",
    "startTimeLocal",
    "isBillable",
    "isBilled",
    "createdBy",
    "createdOn",
    "projectId",
    "taskId",
    "userId",
    "typeOfWorkId",
)
# nested model, id attribute, workspace table, cut
_NESTED: list[tuple[str, str, str, Callable[[Entity], Entity]]] = [
    ("project", "projectId", "projects", models.simple_project),
    ("task", "taskId", "tasks", models.simple_task),
    ("user", "userId", "users", models.simple_user),
    ("typeOfWork", "typeOfWorkId", "types_of_work", models.simple_type_of_work),
]
GROUPINGS = {"project": "project", "task": "task", "user": "user", "typeofwork": "typeOfWork"}


def simplify(ws: Workspace, entry: Entity) -> Entity:
    """An entry in the `SimplifiedTimeTracking` model."""
    simple = {key: entry.get(key) for key in _KEYS if key in entry}
    for name, id_key, table, cut in _NESTED:
        full = getattr(ws, table).get(entry.get(id_key) or "")
        if full is not None:
            simple[name] = cut(full)
    return simple


def group_key(ws: Workspace, grouping: str) -> Callable[[Entity], Any]:
    """The name an entry is grouped by (None when it has no such model)."""
    _, id_key, table, _ = next(n for n in _NESTED if n[0] == grouping)

    def key(entry: Entity) -> Any:
        full = getattr(ws, table).get(entry.get(id_key) or "")
        if full is None:
            return None
        name = full.get("name") or " ".join(
            part for part in (full.get("firstName"), full.get("lastName")) if part
        )
        return f"{name}\x00{full['id']}"

    return key


async def list_simplified(request: Request) -> Response:
    ws = sandbox_of(request).workspace
    wanted = (query(request).get("grouping") or "").strip()
    if wanted and wanted.lower() not in GROUPINGS:
        raise invalid("grouping", f"Unknown grouping; use one of {', '.join(GROUPINGS.values())}.")
    group = group_key(ws, GROUPINGS[wanted.lower()]) if wanted else None
    return list_response(
        request,
        list(ws.entries.values()),
        fields=load_contract().properties("TimeTracking"),
        view=ws.filter_view,
        group=group,
        shape=lambda entry: simplify(ws, entry),
    )


routes = [Route("/timeentries/simplified", list_simplified, methods=["GET"])]
