"""awork's webhook envelope for time entries (SPEC 7.1, api-notes 1.3).

    {"timestamp": "2026-11-20T14:28:39.5966465+00:00", "eventType": "timetracking_updated",
     "entityId": "<id>", "entityType": "timetracking", "entityLink": "https://…", "traceId": "…",
     "triggeredBy": {"id", "firstName", "lastName"}, "entity": {…as GET /timeentries/{id}…},
     "changes": [{"property": "IsBillable", "old": "False", "new": "True"}]}

No delivery id and no workspace id, as in awork; `changes` is left out when not given
("Not always available!").

Which events a write sends (the sandbox's reading; api-notes 1.2 calls `type_changed`
undocumented):
- a new entry: `timetracking_added`, its `changes` listing every property set (old null), so a
  receiver can read e.g. the `Duration` as awork's own integrations do (api-notes 1.3, S11);
- a change: `timetracking_updated` with the changed properties (plus `UpdatedOn`); when the type
  of work is among them, also `timetracking_type_changed` with the same `changes` — by analogy
  with `task_type_changed`, sent alongside the update, not instead of it;
- a deletion: `timetracking_deleted`, the entity as it was plus `deletedOn` and `deletedBy`, no
  `changes`;
- a write that changes nothing sends nothing.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from service.sandbox.clock import iso7, iso_ticks, now_ticks
from service.sandbox.workspace import change

WEB_URL = "https://sandbox.awork.com"
TIME_ENTRY_EVENTS = (
    "timetracking_added",
    "timetracking_updated",
    "timetracking_deleted",
    "timetracking_type_changed",
)


def envelope(
    event_type: str,
    entry: dict[str, Any],
    *,
    triggered_by: dict[str, Any],
    changes: list[dict[str, Any]] | None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The body awork POSTs for a time-entry event; `entity` is a deep copy of `entry`."""
    stamp = (
        iso_ticks(now_ticks(), suffix="+00:00")
        if timestamp is None
        else iso7(timestamp, suffix="+00:00")
    )
    body: dict[str, Any] = {
        "timestamp": stamp,
        "eventType": event_type,
        "entityId": entry["id"],
        "entityType": "timetracking",
        "entityLink": _link(entry),
        "traceId": uuid.uuid4().hex,
        "triggeredBy": {k: triggered_by.get(k) for k in ("id", "firstName", "lastName")},
        "entity": copy.deepcopy(entry),
    }
    if changes is not None:
        body["changes"] = copy.deepcopy(changes)
    return body


def project_updated(
    project: dict[str, Any],
    *,
    triggered_by: dict[str, Any],
    changes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`project_updated` for a changed project (the sandbox serves no project writes: a caller
    that changed one in the workspace announces it with this)."""
    body: dict[str, Any] = {
        "timestamp": iso_ticks(now_ticks(), suffix="+00:00"),
        "eventType": "project_updated",
        "entityId": project["id"],
        "entityType": "project",
        "entityLink": f"{WEB_URL}/projects/{project['id']}",
        "traceId": uuid.uuid4().hex,
        "triggeredBy": {k: triggered_by.get(k) for k in ("id", "firstName", "lastName")},
        "entity": copy.deepcopy(project),
    }
    if changes is not None:
        body["changes"] = copy.deepcopy(changes)
    return body


def added(entry: dict[str, Any], *, triggered_by: dict[str, Any]) -> dict[str, Any]:
    """`timetracking_added` for a new entry."""
    changes = [
        change(key, None, value)
        for key, value in entry.items()
        if key not in _NOT_LISTED and value is not None and value != []
    ]
    return envelope("timetracking_added", entry, triggered_by=triggered_by, changes=changes)


def updated(
    entry: dict[str, Any], changes: list[dict[str, Any]], *, triggered_by: dict[str, Any]
) -> list[dict[str, Any]]:
    """`timetracking_updated` for a change, and `timetracking_type_changed` with it when the type
    of work changed; nothing when nothing changed."""
    if not changes:
        return []
    events = [envelope("timetracking_updated", entry, triggered_by=triggered_by, changes=changes)]
    if any(c["property"] == "TypeOfWorkId" for c in changes):
        events.append(
            envelope("timetracking_type_changed", entry, triggered_by=triggered_by, changes=changes)
        )
    return events


def deleted(entry: dict[str, Any], *, triggered_by: dict[str, Any]) -> dict[str, Any]:
    """`timetracking_deleted` for an entry `Workspace.remove_entry` returned."""
    return envelope("timetracking_deleted", entry, triggered_by=triggered_by, changes=None)


# nested models and bookkeeping: not properties a person sets
_NOT_LISTED = {
    "id",
    "project",
    "task",
    "user",
    "typeOfWork",
    "createdBy",
    "createdOn",
    "updatedBy",
    "updatedOn",
    "resourceVersion",
}


def _link(entry: dict[str, Any]) -> str:
    """The entity's nearest linkable parent: its project's time tracking, else the user's."""
    if entry.get("projectId"):
        return f"{WEB_URL}/projects/{entry['projectId']}/timetracking"
    return f"{WEB_URL}/users/{entry.get('userId')}/timetracking"
