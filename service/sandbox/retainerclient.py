"""Opt-in seed data for budgets (issue 13): a retainer client whose month is nearly used up, and
time budgets on two fixed-price projects.

`seed_workspace(..., retainer_client=True)` adds the client "Seeblick Kliniken GmbH" with the
project "RET Seeblick Kliniken" (`isRetainer`, no `timeBudget` of its own) and one retainer:
20 h a month from September to December 2026 (Europe/Berlin), underspent time rolled over. Its
entries: September 17.5 h billable (2.5 h carried into October), October 22.5 h billable plus
2 h non-billable (the project does not deduct non-billable hours, so its 22.5 h budget is used
exactly), November — the seed's current month, up to `SEED_UNTIL` — 19 h of 20 h billable, and a
running timer, which never counts. A rule adding an hour there goes over budget. The client
brings a type of work of its own, "Overage", for the hours beyond its retainer (the default
seed's types of work stay as they are).

`seed_workspace(..., project_budgets=True)` gives "Nordlicht Webshop" and "Alpenblick Booking
App" a `timeBudget` of 60 h each (with the default seed one is nearly used, one is over).

Both draw from an RNG of their own, after everything else, so the default seed is unchanged and
these additions are the same for the same `seed`.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from service.sandbox import timing
from service.sandbox.agency import NOTES
from service.sandbox.budgets import new_retainer
from service.sandbox.catalog import (
    Catalog,
    add_company,
    add_project,
    add_type_of_work,
    definitions_by_name,
    new_id,
)
from service.sandbox.clock import iso7, ticks
from service.sandbox.models import (
    Entity,
    nested_project,
    nested_task,
    nested_type_of_work,
    nested_user,
)

HOUR = 3600
COMPANY = ("Seeblick Kliniken GmbH", "Healthcare", ["key-account", "retainer"])
PROJECT = ("RET Seeblick Kliniken", "RETS", 5, "Retainer", True, 0, False, ["retainer"])
BUDGETED = {"Nordlicht Webshop": 60 * HOUR, "Alpenblick Booking App": 60 * HOUR}
# month, billable seconds, non-billable seconds, last day worked
MONTHS = [(9, 35 * HOUR // 2, 0, 30), (10, 45 * HOUR // 2, 2 * HOUR, 30), (11, 19 * HOUR, 0, 20)]
OVERAGE = ("Overage", "clock", False)
"""The retainer client's type of work for hours beyond the retainer (name, icon, archived)."""
_TZ = "Europe/Berlin"


def add_budgets(catalog: Catalog) -> None:
    """`timeBudget` on the fixed-price projects of `BUDGETED`."""
    for project in catalog.projects.values():
        if project["name"] in BUDGETED:
            project["timeBudget"] = BUDGETED[project["name"]]


def add_retainer_client(
    rng: random.Random, catalog: Catalog, retainers: dict[str, Entity]
) -> list[Entity]:
    """Add the client, its project and retainer (to `catalog`, `retainers`); return its entries."""
    add_company(rng, catalog, COMPANY, [PROJECT])
    project = add_project(rng, catalog, PROJECT, definitions_by_name(catalog))
    project["timeBudget"] = None  # the retainer holds the budget
    values = {
        "id": new_id(rng),
        "timeBudget": 20 * HOUR,
        "timezone": _TZ,
        "rollOverUnderspentBudget": True,
        "startDate": "2026-09-01T00:00:00Z",
        "endDate": "2026-12-31T00:00:00Z",
    }
    retainer = new_retainer(project, values, catalog.created, catalog.created_by)
    retainers[retainer["id"]] = retainer
    entries = []
    for month, billable, unbillable, last_day in MONTHS:
        for seconds, is_billable in ((billable, True), (unbillable, False)):
            entries += _month(rng, catalog, project, month, last_day, seconds, is_billable)
    entries.append(_entry(rng, catalog, project, datetime(2026, 11, 20, 13, 0, tzinfo=UTC), 0))
    add_type_of_work(rng, catalog, OVERAGE)  # last: the ids drawn before it stay the same
    return entries


def _month(
    rng: random.Random,
    catalog: Catalog,
    project: Entity,
    month: int,
    last_day: int,
    seconds: int,
    billable: bool,
) -> list[Entity]:
    """Entries of `seconds` in all, on the month's weekdays from the 1st to `last_day`."""
    days = [
        d
        for d in (datetime(2026, month, 1, 8, tzinfo=UTC) + timedelta(days=n) for n in range(31))
        if d.month == month and d.day <= last_day and d.weekday() < 5
    ]
    entries, left, index = [], seconds, 0
    while left > 0:
        chunk = min(left, rng.choice([HOUR, 3 * HOUR // 2, 2 * HOUR, 3 * HOUR]))
        if 0 < left - chunk < HOUR // 2:
            chunk = left
        day = days[index % len(days)] + timedelta(hours=rng.randrange(0, 6))
        entry = _entry(rng, catalog, project, day, chunk)
        entry["isBillable"] = billable
        entry["isBilled"] = billable and month < 11  # earlier months are invoiced
        entries.append(entry)
        left, index = left - chunk, index + 2
    return entries


def _entry(
    rng: random.Random, catalog: Catalog, project: Entity, start: datetime, seconds: int
) -> Entity:
    """A finished entry of `seconds` starting at `start`, or a running timer (`seconds` 0)."""
    task = rng.choice(catalog.tasks_of(project["id"]))
    type_of_work = catalog.types_of_work[task["typeOfWorkId"]]
    user = rng.choice(catalog.people)
    begin = ticks(start)
    end = begin + seconds * timing.SECOND if seconds else None
    created = start + timedelta(seconds=seconds + 120)
    return {
        "id": new_id(rng),
        "isBillable": True,
        "isBilled": False,
        "isExternal": False,
        "note": rng.choice(NOTES[type_of_work["name"]]),
        "typeOfWorkId": type_of_work["id"],
        "typeOfWork": nested_type_of_work(type_of_work),
        "projectId": project["id"],
        "taskId": task["id"],
        "userId": user["id"],
        "user": nested_user(user),
        "timezone": _TZ,
        "breakDuration": 0,
        "breaks": [],
        "project": nested_project(project),
        "task": nested_task(task),
        **timing.fields(begin, end, timing.zone(_TZ)),
        "duration": seconds,
        "createdBy": user["id"],
        "createdOn": iso7(created),
        "updatedBy": user["id"],
        "updatedOn": iso7(created),
        "resourceVersion": ticks(created),
    }
