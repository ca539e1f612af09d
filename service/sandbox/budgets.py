"""Budgets (issue 13): a project's `timeBudget` / `trackedDuration`, and retainers' monthly budgets.

- `Project.trackedDuration`, "the summed up duration of all time trackings for this project":
  every entry of the project, billable or not (a running timer adds its 0); computed on every
  read, so it follows every write. `timeBudget` is stored on the project (seconds, or null).
- A retainer (`Retainer`) is a monthly contract from `startDate` to `endDate` (the last month
  included; without an end date, through the current month) in its `timezone`. Each month is one
  `RetainerBudget`:
  - `startDate` / `endDate`: the UTC instants of the local month's first midnight and the next
    month's, so a period is `[startDate, endDate)`;
  - `trackedDuration`: the project's entries whose start instant (`timing.start_of`: the date of
    `startDateUtc` with the time `startTimeUtc`) lies in the period — billable ones only, unless
    the project's `deductNonBillableHours` is true; running timers never count;
  - `timeBudget`: the retainer's `timeBudget` plus the carry-over, which awork already includes:
    what the previous period left unspent (with `rollOverUnderspentBudget`) or minus what it
    overspent (`rollOverOverspentBudget`). Only a period that has ended carries over.
  - `id`: derived from the retainer's id and the month (uuid5), stable across reads.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from service.sandbox import timing
from service.sandbox.clock import from_ticks, now_ticks, parse_datetime, ticks
from service.sandbox.models import Entity
from service.sandbox.workspace import Workspace


def tracked(ws: Workspace) -> Counter[str]:
    """`trackedDuration` of every project with entries, in one pass."""
    totals: Counter[str] = Counter()
    for entry in ws.entries.values():
        if entry.get("projectId"):
            totals[entry["projectId"]] += entry.get("duration") or 0
    return totals


def project_view(project: Entity, totals: Counter[str]) -> Entity:
    """A project as `GET /projects/{id}` answers it: with its `trackedDuration`."""
    return {**project, "trackedDuration": totals.get(project["id"], 0)}


def retainers_of(ws: Workspace, project_id: str) -> list[Entity]:
    return [r for r in ws.retainers.values() if r["projectId"] == project_id]


def retainer_view(ws: Workspace, retainer: Entity) -> Entity:
    """A retainer with its `retainerBudgets`, as `GET /projects/{id}/retainers` answers it."""
    project = ws.projects.get(retainer["projectId"], {})
    periods = _periods(retainer)
    used = _used(ws, retainer["projectId"], periods, bool(project.get("deductNonBillableHours")))
    now, carry, budgets = now_ticks(), 0, []
    for (start, end), seconds in zip(periods, used, strict=True):
        budget = retainer["timeBudget"] + carry
        budgets.append(
            {
                "id": str(uuid.uuid5(uuid.UUID(retainer["id"]), _iso(start))),
                "timeBudget": budget,
                "trackedDuration": seconds,
                "startDate": _iso(start),
                "endDate": _iso(end),
            }
        )
        carry = _carry(retainer, budget - seconds) if end <= now else 0
    return {**retainer, "retainerBudgets": budgets}


def _periods(retainer: Entity) -> list[tuple[int, int]]:
    """`[start, end)` of each month of the contract, as UTC ticks."""
    tz = timing.zone(retainer.get("timezone") or "UTC")
    first = parse_datetime(retainer["startDate"])
    last = parse_datetime(retainer["endDate"]) if retainer.get("endDate") else None
    if first is None:
        return []
    until = last or from_ticks(now_ticks()).astimezone(tz)
    year, month, periods = first.year, first.month, []
    while (year, month) <= (until.year, until.month):
        following = (year + month // 12, month % 12 + 1)
        start = ticks(datetime(year, month, 1, tzinfo=tz))
        periods.append((start, ticks(datetime(*following, 1, tzinfo=tz))))
        year, month = following
    return periods


def _used(
    ws: Workspace, project_id: str, periods: list[tuple[int, int]], deduct_all: bool
) -> list[int]:
    used = [0] * len(periods)
    for entry in ws.entries.values():
        if entry.get("projectId") != project_id or timing.is_running(entry):
            continue
        if not (deduct_all or entry.get("isBillable")):
            continue
        begin = timing.start_of(entry)
        for index, (start, end) in enumerate(periods):
            if begin is not None and start <= begin < end:
                used[index] += entry.get("duration") or 0
    return used


def _carry(retainer: Entity, left: int) -> int:
    if left > 0 and retainer.get("rollOverUnderspentBudget"):
        return left
    if left < 0 and retainer.get("rollOverOverspentBudget"):
        return left
    return 0


def _iso(instant: int) -> str:
    return f"{from_ticks(instant):%Y-%m-%dT%H:%M:%S}Z"


def new_retainer(project: Entity, values: dict[str, Any], created: str, by: str) -> Entity:
    """A `Retainer` (without budgets) for `project`: `values` holds `id`, `timeBudget`,
    `timezone`, `startDate`, `endDate` and the roll-over flags."""
    return {
        "id": values["id"],
        "projectId": project["id"],
        "timeBudget": values["timeBudget"],
        "timezone": values.get("timezone", "Europe/Berlin"),
        "rollOverUnderspentBudget": values.get("rollOverUnderspentBudget", False),
        "rollOverOverspentBudget": values.get("rollOverOverspentBudget", False),
        "startDate": values["startDate"],
        "endDate": values.get("endDate"),
        "syncProjectDates": False,
        "retainerPeriod": "monthly",
        "isExternal": False,
        "createdOn": created,
        "createdBy": by,
        "updatedOn": created,
        "updatedBy": by,
    }
