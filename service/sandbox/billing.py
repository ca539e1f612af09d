"""Bulk writes as awork does them (SPEC 7.2, api-notes 2.1 and 2.2): `batch/{operation}` and the
legacy per-flag endpoints.

Per entry, in this order (`permissions.verdict`):
- unknown id -> `notFound` (legacy: 404, nothing changed; 400 where the route publishes no 404);
- id in `workspace.unauthorized_ids` -> `unauthorized` (legacy: 401, nothing changed; 400 where
  the route publishes no 401: `setunbilled`, `delete`);
- a billed entry, a caller who is no admin, and an admin-only change (un-bill, make unbillable,
  move to another project, task or user, delete) -> `unauthorized` (legacy `setunbillable`,
  `setunbilled` and `delete`: 400, nothing changed);
- id in `workspace.bad_request_ids` -> `badRequest` (legacy: 400, nothing changed);
- else `ok`. An entry already holding the value is `ok` and unchanged (see
  `Workspace.touch_unchanged`), so it sends no webhook.

What each batch operation writes (awork's reference): `setIsBillable` (making a billed entry
unbillable also clears `isBilled`), `setIsBilled`, `setTypeOfWork` (`newTypeOfWorkId`, an active
type), `setProject` (`newProjectId`; "unsets the previous project and task" — moving an entry to
the project it is already in changes nothing, its task stays), `setTask` (`newTaskId`; sets the
task's project too), `setUser` (`newUserId`), `delete`. The operation's field is required (400
naming it); an unknown id in it is a 400 too ("the new type of work cannot be found").

`requireAllTimeEntries: true` (added by awork 2026-08-19, semantics undocumented): when any id
fails, nothing changes, `ok` is empty and the ids that would have succeeded are listed under
`badRequest`, so every requested id still appears in exactly one list.

Operation names are case-sensitive here (awork's own guide writes them in camelCase; whether awork
itself is lenient is unknown, and a strict fake catches a misspelling before production does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.sandbox import forms
from service.sandbox.models import Entity
from service.sandbox.permissions import Actor, verdict
from service.sandbox.responses import ApiError, invalid
from service.sandbox.workspace import Change, Workspace

BATCH_FIELDS: dict[str, str | None] = {
    "setIsBillable": "isBillable",
    "setIsBilled": "isBilled",
    "setTypeOfWork": "newTypeOfWorkId",
    "setProject": "newProjectId",
    "setTask": "newTaskId",
    "setUser": "newUserId",
    "delete": None,
}
LEGACY_OPERATIONS = {
    "setbillable",
    "setunbillable",
    "setbilled",
    "setunbilled",
    "settypeofwork",
    "delete",
}

Changed = list[tuple[str, list[Change]]]


@dataclass
class BatchResult:
    """A `MultiStatusResult` plus what was done (for the webhooks)."""

    lists: dict[str, list[str]] = field(
        default_factory=lambda: {"ok": [], "notFound": [], "unauthorized": [], "badRequest": []}
    )
    changed: Changed = field(default_factory=list)
    deleted: list[Entity] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {name: {"ids": ids} for name, ids in self.lists.items()}


def run_batch(ws: Workspace, actor: Actor, operation: str, form: dict[str, Any]) -> BatchResult:
    """Apply a validated `TimeEntryBatchOperationForm`; `ApiError` 400 for a form that the
    operation cannot use."""
    value = _operand(ws, operation, form)
    ids = _unique(form["timeEntryIds"])
    result = BatchResult()
    plans: dict[str, dict[str, Any]] = {}
    for entry_id in ids:
        entry = ws.entries.get(entry_id)
        values = _batch_values(ws, operation, value, entry) if entry is not None else {}
        found = verdict(ws, actor, entry_id, values, delete=operation == "delete")
        result.lists[_BATCH_LIST[found]].append(entry_id)
        if found == "ok":
            plans[entry_id] = values
    if form.get("requireAllTimeEntries") and len(plans) < len(ids):
        result.lists["badRequest"] += result.lists["ok"]
        result.lists["ok"] = []
        return result
    if operation == "delete":
        result.deleted = [ws.remove_entry(i, by=actor.user) for i in plans]
    else:
        result.changed = _apply(ws, actor, plans)
    return result


def run_legacy(ws: Workspace, actor: Actor, operation: str, form: dict[str, Any]) -> BatchResult:
    """Apply a legacy form: all ids or none (`ApiError` 404/401/400)."""
    type_of_work = None
    if operation == "settypeofwork":
        type_of_work = forms.check_type_of_work(ws, form["typeOfWorkId"], "typeOfWorkId")
    ids = _unique(form.get("ids") or [])
    plans = {
        i: _legacy_values(operation, ws.entries[i], type_of_work) for i in ids if i in ws.entries
    }
    delete = operation == "delete"
    verdicts = {i: verdict(ws, actor, i, plans.get(i, {}), delete=delete) for i in ids}
    errors = _LEGACY_400_ONLY if operation in ("delete", "setunbilled") else _LEGACY_ERRORS
    for found, (status, code) in errors.items():
        failing = [i for i in ids if verdicts[i] == found]
        if failing:
            raise ApiError(status, code, _LEGACY_TEXT[found], details=failing)
    if delete:
        return BatchResult(deleted=[ws.remove_entry(i, by=actor.user) for i in plans])
    return BatchResult(changed=_apply(ws, actor, plans))


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
# `POST /timeentries/delete` and `/setunbilled` document 204 and 400 only
_LEGACY_400_ONLY = {
    "notFound": (400, "not-found"),
    "unauthorized": (400, "unauthorized"),
    "needsAdmin": (400, "invalid-operation"),
    "badRequest": (400, "invalid-operation"),
}
_LEGACY_TEXT = {
    "notFound": "Time entries not found; nothing was changed.",
    "unauthorized": "Not allowed to edit these time entries; nothing was changed.",
    "needsAdmin": "Only admins may un-bill, move or delete billed entries; nothing was changed.",
    "badRequest": "These time entries cannot be changed; nothing was changed.",
}
_CHECKS: dict[str, Callable[[Workspace, str, str], str]] = {
    "setTypeOfWork": forms.check_type_of_work,
    "setProject": lambda ws, value, name: forms.check_project(ws, value, name)["id"],
    "setTask": lambda ws, value, name: forms.check_task(ws, value, name)["id"],
    "setUser": lambda ws, value, name: forms.check_user(ws, value, name)["id"],
}


def _operand(ws: Workspace, operation: str, form: dict[str, Any]) -> Any:
    """The operation's form field, required and (for ids) pointing at something that exists."""
    name = BATCH_FIELDS[operation]
    if name is None:
        return None
    value = form.get(name)
    if value is None:
        raise invalid(name, f"{name} is required for {operation}.")
    check = _CHECKS.get(operation)
    return value if check is None else check(ws, value, name)


def _batch_values(ws: Workspace, operation: str, value: Any, entry: Entity) -> dict[str, Any]:
    if operation == "setIsBillable":
        return _billable(value, entry)
    if operation == "setIsBilled":
        return {"isBilled": value}
    if operation == "setTypeOfWork":
        return {"typeOfWorkId": value}
    if operation == "setProject":
        return {} if value == entry.get("projectId") else {"projectId": value, "taskId": None}
    if operation == "setTask":
        return {"taskId": value, "projectId": ws.tasks[value]["projectId"]}
    if operation == "setUser":
        return {"userId": value}
    return {}  # delete


def _legacy_values(operation: str, entry: Entity, type_of_work: str | None) -> dict[str, Any]:
    if operation in ("setbillable", "setunbillable"):
        return _billable(operation == "setbillable", entry)
    if operation in ("setbilled", "setunbilled"):
        return {"isBilled": operation == "setbilled"}
    if operation == "settypeofwork":
        return {"typeOfWorkId": type_of_work}
    return {}  # delete


def _billable(value: bool, entry: Entity) -> dict[str, Any]:
    """Making a billed entry unbillable also clears `isBilled` (api-notes 2.1)."""
    if not value and entry.get("isBilled"):
        return {"isBillable": False, "isBilled": False}
    return {"isBillable": value}


def _apply(ws: Workspace, actor: Actor, plans: dict[str, dict[str, Any]]) -> Changed:
    changed = []
    for entry_id, values in plans.items():
        changes = ws.update_entry(entry_id, values, by=actor.user)
        if changes:
            changed.append((entry_id, changes))
    return changed


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i.lower() for i in ids))
