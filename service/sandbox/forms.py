"""From a validated form to time-entry values: `POST /timeentries` (`TimeEntryPostForm`) and
`PUT /timeentries/{id}` (`TimeTrackingPutForm`), plus the reference checks every write shares.

Both answer 400 (`validation-failed`, naming the property) for what is missing, unknown or
inconsistent; the time fields are read by `timing`. Choices where awork's docs are silent:
- `breakDuration` "cannot be set via API": a value other than the entry's current one (0 for a
  new entry) is refused; writing back the value read is fine.
- `isBillable` defaults to the project's `isBillableByDefault` on create; when that is unset,
  to whether the project has a company (the template rule "auto", api-notes 2.6); without a
  project to false. An unbillable entry is never billed: `isBillable: false` clears `isBilled`,
  as the batch `setIsBillable` does.
- PUT is a full replace, read like a .NET model binder would: an absent `note`, `projectId` or
  `taskId` becomes null and an absent `isBillable` / `isBilled` false; an absent or null `userId`
  keeps the user (the form allows null only because a deleted user leaves it null).
- A task sets the project; a task of another project than `projectId` is refused.
- POST creates finished entries only (api-notes 2.4: "plus start+duration or start+end"); a running
  timer comes from `/timetracking/start`. On a running timer PUT may change only the start (not in
  the future); an end or a non-zero duration is refused: stop the timer instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from service.sandbox import timing
from service.sandbox.clock import now_ticks
from service.sandbox.models import Entity
from service.sandbox.responses import ApiError, invalid
from service.sandbox.workspace import Workspace


def new_entry(ws: Workspace, form: dict[str, Any]) -> Entity:
    """A new finished entry from a `TimeEntryPostForm` (not stored yet: `Workspace.add_entry`)."""
    tz = timing.zone(form["timezone"])
    _check_breaks(form, 0)
    start, end, duration = timing.finish(timing.read(form, tz, mixing=False), 0)
    return entry_of(ws, form, references(ws, form, None), (start, end, duration))


def entry_of(
    ws: Workspace,
    form: dict[str, Any],
    refs: dict[str, Any],
    times: tuple[int, int | None, int],
) -> Entity:
    """A new entry (a finished one, or a running timer: no end, duration 0) of `form`'s user,
    project, task and type of work (`refs`), at `times` (start, end, duration in ticks/s):
    billable as the form says, else as its project's default; no breaks yet."""
    start, end, duration = times
    billable = form.get("isBillable", default_billable(ws, refs["projectId"]))
    return {
        "id": str(uuid.uuid4()),
        "isBillable": billable,
        "isBilled": bool(form.get("isBilled", False)) and billable,
        "isExternal": False,
        "note": form.get("note"),
        **refs,
        "timezone": form["timezone"],
        "breakDuration": 0,
        "breaks": [],
        **timing.fields(start, end, timing.zone(form["timezone"])),
        "duration": duration,
    }


def replacement(ws: Workspace, entry: Entity, form: dict[str, Any]) -> dict[str, Any]:
    """The values a `TimeTrackingPutForm` gives `entry` (for `Workspace.update_entry`)."""
    tz = timing.zone(form["timezone"])
    breaks = int(entry.get("breakDuration") or 0)
    _check_breaks(form, breaks)
    given = timing.read(form, tz, mixing=True)
    if timing.is_running(entry):
        times = _running(entry, given, tz)
    else:
        start, end, duration = timing.finish(given, breaks)
        times = {**timing.fields(start, end, tz), "duration": duration}
    refs = references(ws, form, entry)
    billable = bool(form.get("isBillable", False))
    return {
        "isBillable": billable,
        "isBilled": bool(form.get("isBilled", False)) and billable,
        "note": form.get("note"),
        **refs,
        "timezone": form["timezone"],
        **times,
    }


def references(ws: Workspace, form: dict[str, Any], entry: Entity | None) -> dict[str, Any]:
    """`typeOfWorkId`, `projectId`, `taskId`, `userId` of a form, checked against the workspace."""
    type_id = form["typeOfWorkId"].lower()
    if entry is None or type_id != entry.get("typeOfWorkId"):
        type_id = check_type_of_work(ws, type_id, "typeOfWorkId")
    task_id = _lower(form.get("taskId"))
    project_id = _lower(form.get("projectId"))
    if task_id is not None:
        task = check_task(ws, task_id, "taskId")
        if project_id is not None and project_id != task["projectId"]:
            raise invalid("projectId", f"Task {task_id} belongs to another project.")
        project_id = task["projectId"]
    if project_id is not None:
        check_project(ws, project_id, "projectId")
    user_id = _lower(form.get("userId")) or (entry or {}).get("userId")
    if user_id is not None and (entry is None or user_id != entry.get("userId")):
        check_user(ws, user_id, "userId")
    return {"typeOfWorkId": type_id, "projectId": project_id, "taskId": task_id, "userId": user_id}


def default_billable(ws: Workspace, project_id: str | None) -> bool:
    """A new entry's `isBillable` in project `project_id` (api-notes 2.6)."""
    project = ws.projects.get(project_id or "")
    if project is None:
        return False
    default = project.get("isBillableByDefault")
    return bool(project.get("companyId")) if default is None else bool(default)


def check_type_of_work(ws: Workspace, value: str, name: str) -> str:
    """The id of an existing, active type of work, else `ApiError` 400."""
    type_of_work = ws.types_of_work.get(value.lower())
    if type_of_work is None:
        raise invalid(name, f"Type of work {value} does not exist.")
    if type_of_work.get("isArchived"):
        raise ApiError(400, "entity-archived", f"Type of work {value} is archived.")
    type_id: str = type_of_work["id"]
    return type_id


def check_project(ws: Workspace, value: str, name: str) -> Entity:
    project = ws.projects.get(value.lower())
    if project is None:
        raise invalid(name, f"Project {value} does not exist.")
    return project


def check_task(ws: Workspace, value: str, name: str) -> Entity:
    task = ws.tasks.get(value.lower())
    if task is None:
        raise invalid(name, f"Task {value} does not exist.")
    return task


def check_user(ws: Workspace, value: str, name: str) -> Entity:
    user = ws.users.get(value.lower())
    if user is None:
        raise invalid(name, f"User {value} does not exist.")
    return user


def _running(entry: Entity, given: timing.Given, tz: Any) -> dict[str, Any]:
    """A running timer's times after a PUT: only the start may move."""
    if given.end is not None or given.duration:
        raise invalid("duration", "A running time entry has no end or duration; stop it first.")
    start = given.start if given.start is not None else timing.start_of(entry)
    if start is not None and start > now_ticks():
        raise invalid("startTimeUtc", "A running time entry cannot start in the future.")
    return {**timing.fields(start, None, tz), "duration": 0}


def _check_breaks(form: dict[str, Any], current: int) -> None:
    value = form.get("breakDuration")
    if value is not None and value != current:
        raise invalid("breakDuration", "The break duration cannot be set via the API.")


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None
