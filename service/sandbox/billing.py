"""Writing billing attributes as awork does (SPEC 7.2, api-notes 2.1 and 2.2).

Per entry, in this order:
- unknown id -> `notFound` (legacy: 404, nothing changed);
- id in `workspace.unauthorized_ids` -> `unauthorized` (legacy: 401, nothing changed);
- un-billing a billed entry, or making it unbillable, without admin rights -> `unauthorized`
  (legacy `setunbillable`/`setunbilled`: 400, nothing changed);
- id in `workspace.bad_request_ids` -> `badRequest` (legacy: 400, nothing changed);
- else `ok`. Making a billed entry unbillable also clears `isBilled`. An entry already holding
  the value is `ok` and unchanged (see `Workspace.touch_unchanged`).

`requireAllTimeEntries: true` (added by awork 2026-08-19, semantics undocumented): when any id
fails, nothing changes, `ok` is empty and the ids that would have succeeded are listed under
`badRequest`, so every requested id still appears in exactly one list.

Batch operations awork also offers but the sandbox does not model (`delete`, `setProject`,
`setTask`, `setUser`) answer 400 `invalid-batch-operation`; any other name 404. Operation names
are case-sensitive here (awork's own guide writes them in camelCase; whether awork itself is
lenient is unknown, and a strict fake catches a misspelling before production does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.sandbox.responses import ApiError
from service.sandbox.workspace import Change, Entity, Workspace

BATCH_FIELDS = {
    "setIsBillable": "isBillable",
    "setIsBilled": "isBilled",
    "setTypeOfWork": "newTypeOfWorkId",
}
BATCH_UNMODELLED = {"delete", "setProject", "setTask", "setUser"}
LEGACY_OPERATIONS = {"setbillable", "setunbillable", "setbilled", "setunbilled", "settypeofwork"}

Changed = list[tuple[str, list[Change]]]


@dataclass
class BatchResult:
    """A `MultiStatusResult` plus the changes made (for the webhook echo)."""

    lists: dict[str, list[str]] = field(
        default_factory=lambda: {"ok": [], "notFound": [], "unauthorized": [], "badRequest": []}
    )
    changed: Changed = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {name: {"ids": ids} for name, ids in self.lists.items()}


def run_batch(ws: Workspace, operation: str, form: dict[str, Any]) -> BatchResult:
    """Apply a validated `TimeEntryBatchOperationForm`; `ApiError` 400 for a form that the
    operation cannot use."""
    name = BATCH_FIELDS[operation]
    value = form.get(name)
    if value is None:
        raise _missing(name, f"{name} is required for {operation}.")
    if operation == "setTypeOfWork":
        value = check_type_of_work(ws, value, name)
    result = BatchResult()
    plans: dict[str, dict[str, Any]] = {}
    for entry_id in _unique(form["timeEntryIds"]):
        entry = ws.entries.get(entry_id)
        values = _batch_values(operation, value, entry) if entry is not None else {}
        verdict = _verdict(ws, entry_id, values)
        result.lists[_BATCH_LIST[verdict]].append(entry_id)
        if verdict == "ok":
            plans[entry_id] = values
    if form.get("requireAllTimeEntries") and len(plans) < len(_unique(form["timeEntryIds"])):
        result.lists["badRequest"] += result.lists["ok"]
        result.lists["ok"] = []
        return result
    result.changed = _apply(ws, plans)
    return result


def run_legacy(ws: Workspace, operation: str, form: dict[str, Any]) -> Changed:
    """Apply a legacy set* form: all ids or none (`ApiError` 404/401/400)."""
    type_of_work = None
    if operation == "settypeofwork":
        type_of_work = check_type_of_work(ws, form["typeOfWorkId"], "typeOfWorkId")
    ids = _unique(form.get("ids") or [])
    plans = {
        i: _legacy_values(operation, ws.entries[i], type_of_work) for i in ids if i in ws.entries
    }
    verdicts = {i: _verdict(ws, i, plans.get(i, {})) for i in ids}
    for verdict, (status, code) in _LEGACY_ERRORS.items():
        failing = [i for i in ids if verdicts[i] == verdict]
        if failing:
            raise ApiError(status, code, _LEGACY_TEXT[verdict], details=failing)
    return _apply(ws, plans)


def check_type_of_work(ws: Workspace, value: str, name: str) -> str:
    """The id of an existing, active type of work, else `ApiError` 400."""
    type_of_work = ws.types_of_work.get(value.lower())
    if type_of_work is None:
        raise _missing(name, f"Type of work {value} does not exist.")
    if type_of_work.get("isArchived"):
        raise ApiError(400, "entity-archived", f"Type of work {value} is archived.")
    type_id: str = type_of_work["id"]
    return type_id


_BATCH_LIST = {
    "ok": "ok",
    "notFound": "notFound",
    "unauthorized": "unauthorized",
    "needsAdmin": "unauthorized",
    "badRequest": "badRequest",
}
_LEGACY_ERRORS = {
    "notFound": (404, "not-found"),
    "unauthorized": (401, "unauthorized"),
    "needsAdmin": (400, "invalid-operation"),
    "badRequest": (400, "invalid-operation"),
}
_LEGACY_TEXT = {
    "notFound": "Time entries not found; nothing was changed.",
    "unauthorized": "Not allowed to edit these time entries; nothing was changed.",
    "needsAdmin": "Only admins may un-bill billed time entries; nothing was changed.",
    "badRequest": "These time entries cannot be changed; nothing was changed.",
}


def _verdict(ws: Workspace, entry_id: str, values: dict[str, Any]) -> str:
    entry = ws.entries.get(entry_id)
    if entry is None:
        return "notFound"
    if entry_id in ws.unauthorized_ids:
        return "unauthorized"
    unbills = values.get("isBillable") is False or values.get("isBilled") is False
    if entry.get("isBilled") and unbills and not ws.api_user_is_admin:
        return "needsAdmin"
    if entry_id in ws.bad_request_ids:
        return "badRequest"
    return "ok"


def _batch_values(operation: str, value: Any, entry: Entity) -> dict[str, Any]:
    if operation == "setIsBillable":
        return _billable(value, entry)
    if operation == "setIsBilled":
        return {"isBilled": value}
    return {"typeOfWorkId": value}


def _legacy_values(operation: str, entry: Entity, type_of_work: str | None) -> dict[str, Any]:
    if operation in ("setbillable", "setunbillable"):
        return _billable(operation == "setbillable", entry)
    if operation in ("setbilled", "setunbilled"):
        return {"isBilled": operation == "setbilled"}
    return {"typeOfWorkId": type_of_work}


def _billable(value: bool, entry: Entity) -> dict[str, Any]:
    """Making a billed entry unbillable also clears `isBilled` (api-notes 2.1)."""
    if not value and entry.get("isBilled"):
        return {"isBillable": False, "isBilled": False}
    return {"isBillable": value}


def _apply(ws: Workspace, plans: dict[str, dict[str, Any]]) -> Changed:
    changed = []
    for entry_id, values in plans.items():
        changes = ws.update_entry(entry_id, values, by=ws.api_user)
        if changes:
            changed.append((entry_id, changes))
    return changed


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i.lower() for i in ids))


def _missing(name: str, message: str) -> ApiError:
    return ApiError(
        400,
        "validation-failed",
        message,
        validation_errors=[{"property": name, "message": message}],
    )
