"""The bulk routes: `POST /timeentries/batch/{operation}` (207 `MultiStatusResult`) and the
deprecated per-flag ones (`setbillable`, `setunbillable`, `setbilled`, `setunbilled`,
`settypeofwork`, `delete`: 204, all ids or none). What they write: `billing`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.sandbox import billing, envelopes
from service.sandbox.permissions import Actor, caller
from service.sandbox.responses import ApiError, JSONResponse, read_form
from service.sandbox.state import SandboxState, sandbox_of

_LEGACY_SCHEMAS = {
    "setbillable": "SetTimeEntryBillableForm",
    "setunbillable": "SetTimeEntryBillableForm",
    "setbilled": "SetTimeEntryBilledForm",
    "setunbilled": "SetTimeEntryBilledForm",
    "settypeofwork": "SetTimeEntryTypeOfWork",
    "delete": "DeleteTimeEntriesForm",
}


async def batch(request: Request) -> Response:
    operation = request.path_params["operation"]
    if operation not in billing.BATCH_FIELDS:
        raise ApiError(404, "not-found", f"Unknown batch operation {operation!r}.")
    form = await read_form(request, "TimeEntryBatchOperationForm")
    state, actor = sandbox_of(request), caller(request)
    result = billing.run_batch(state.workspace, actor, operation, form)
    _announce(state, actor, result)
    return JSONResponse(result.body(), 207)


def _legacy(operation: str) -> Route:
    async def endpoint(request: Request) -> Response:
        form = await read_form(request, _LEGACY_SCHEMAS[operation])
        state, actor = sandbox_of(request), caller(request)
        _announce(state, actor, billing.run_legacy(state.workspace, actor, operation, form))
        return Response(status_code=204)

    return Route(f"/timeentries/{operation}", endpoint, methods=["POST"])


def _announce(state: SandboxState, actor: Actor, result: billing.BatchResult) -> None:
    by = actor.person()
    state.publish_changes(result.changed, by)
    state.publish([envelopes.deleted(entry, triggered_by=by) for entry in result.deleted])


routes = [
    Route("/timeentries/batch/{operation}", batch, methods=["POST"]),
    *(_legacy(operation) for operation in _LEGACY_SCHEMAS),
]
