"""The time-entry routes: list with `filterby`, get one, batch and legacy bulk writes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import billing
from service.sandbox.contract import load_contract
from service.sandbox.paging import list_response
from service.sandbox.responses import ApiError, JSONResponse, read_form
from service.sandbox.state import SandboxState

_LEGACY_SCHEMAS = {
    "setbillable": "SetTimeEntryBillableForm",
    "setunbillable": "SetTimeEntryBillableForm",
    "setbilled": "SetTimeEntryBilledForm",
    "setunbilled": "SetTimeEntryBilledForm",
    "settypeofwork": "SetTimeEntryTypeOfWork",
}


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def list_entries(request: Request) -> Response:
    ws = _state(request).workspace
    fields = load_contract().properties("TimeTracking")
    return list_response(request, list(ws.entries.values()), fields=fields, view=ws.filter_view)


async def get_entry(request: Request) -> Response:
    entry_id = request.path_params["id"].lower()
    entry = _state(request).workspace.entries.get(entry_id)
    if entry is None:
        raise ApiError(404, "not-found", f"Time entry {entry_id} not found.")
    return JSONResponse(entry)


async def batch(request: Request) -> Response:
    operation = request.path_params["operation"]
    if operation not in billing.BATCH_FIELDS and operation not in billing.BATCH_UNMODELLED:
        raise ApiError(404, "not-found", f"Unknown batch operation {operation!r}.")
    form = await read_form(request, "TimeEntryBatchOperationForm")
    if operation in billing.BATCH_UNMODELLED:
        raise ApiError(400, "invalid-batch-operation", f"The sandbox does not model {operation!r}.")
    state = _state(request)
    result = billing.run_batch(state.workspace, operation, form)
    state.echo(result.changed)
    return JSONResponse(result.body(), 207)


def _legacy(operation: str) -> Route:
    async def endpoint(request: Request) -> Response:
        form = await read_form(request, _LEGACY_SCHEMAS[operation])
        state = _state(request)
        state.echo(billing.run_legacy(state.workspace, operation, form))
        return Response(status_code=204)

    return Route(f"/timeentries/{operation}", endpoint, methods=["POST"])


routes = [
    Route("/timeentries", list_entries, methods=["GET"]),
    Route("/timeentries/batch/{operation}", batch, methods=["POST"]),
    *(_legacy(operation) for operation in _LEGACY_SCHEMAS),
    Route("/timeentries/{id}", get_entry, methods=["GET"]),
]
