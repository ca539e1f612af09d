"""awork's webhook envelope for time entries (SPEC 7.1, api-notes 1.3).

    {"timestamp": "2026-11-20T14:28:39.5966465+00:00", "eventType": "timetracking_updated",
     "entityId": "<id>", "entityType": "timetracking", "entityLink": "https://…", "traceId": "…",
     "triggeredBy": {"id", "firstName", "lastName"}, "entity": {…as GET /timeentries/{id}…},
     "changes": [{"property": "IsBillable", "old": "False", "new": "True"}]}

No delivery id and no workspace id, as in awork; `changes` is left out when not given
("Not always available!").
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

from service.sandbox.clock import iso7, iso_ticks, now_ticks

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


def _link(entry: dict[str, Any]) -> str:
    """The entity's nearest linkable parent: its project's time tracking, else the user's."""
    if entry.get("projectId"):
        return f"{WEB_URL}/projects/{entry['projectId']}/timetracking"
    return f"{WEB_URL}/users/{entry.get('userId')}/timetracking"
