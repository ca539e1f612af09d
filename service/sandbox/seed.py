"""A deterministic, realistic small agency workspace to run rules against.

`seed_workspace(entries, seed)` always builds the same workspace for the same arguments: ids come
from a seeded RNG and time from a fixed anchor (`SEED_UNTIL`), never from the clock. The catalogue
(companies, projects, tasks, users, types of work) is built before the entries, so its ids do not
depend on `entries`.

The entries carry what real payloads carry (SPEC 7.1): running timers (no end, duration 0),
finished entries with only a start and a duration, the older `project.key`, `startTimeUtc` with 7
fractional digits, notes mentioning calls and meetings under the wrong type of work, entries
whose billability deviates from the project default, and billed entries.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from service.sandbox.agency import NOTES
from service.sandbox.catalog import Catalog, build_catalog, new_id
from service.sandbox.clock import iso7, iso_ticks, ticks
from service.sandbox.models import Entity, nested_project, nested_type_of_work, nested_user
from service.sandbox.retainerclient import add_budgets, add_retainer_client
from service.sandbox.workspace import Workspace

SEED_UNTIL = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
"""The seeded entries lie in the ten weeks before this moment."""
MEMBER_FIRST_NAME = "Ben"
"""The member key (`sandbox-member-token`) acts as Ben Müller, a developer and no admin."""


def seed_workspace(
    entries: int = 300,
    seed: int = 7,
    *,
    retainer_client: bool = False,
    project_budgets: bool = False,
) -> Workspace:
    """Build the sandbox workspace: a catalogue plus `entries` time entries, oldest first.

    Opt-in additions for budgets (`retainerclient`): `retainer_client` adds a retainer client
    whose current month is nearly used up; `project_budgets` gives two projects a `timeBudget`.
    """
    rng = random.Random(seed)
    catalog = build_catalog(rng, SEED_UNTIL - timedelta(days=120))
    made = [_entry(rng, catalog) for _ in range(entries)]
    retainers: dict[str, Entity] = {}
    extra = random.Random(f"budgets-{seed}")  # the default seed's RNG stays untouched
    if retainer_client:
        made += add_retainer_client(extra, catalog, retainers)
    if project_budgets:
        add_budgets(catalog)
    made.sort(key=lambda e: (e["startDateUtc"], e["startTimeUtc"]))
    versions: set[int] = set()
    for entry in made:
        while entry["resourceVersion"] in versions:
            entry["resourceVersion"] += 1
            entry["updatedOn"] = iso_ticks(entry["resourceVersion"])
        versions.add(entry["resourceVersion"])
    ws = Workspace(
        entries={e["id"]: e for e in made},
        projects=catalog.projects,
        tasks=catalog.tasks,
        companies=catalog.companies,
        types_of_work=catalog.types_of_work,
        users=catalog.users,
        custom_field_definitions=catalog.custom_field_definitions,
        retainers=retainers,
        api_user=catalog.api_user,
        member_id=next(p["id"] for p in catalog.people if p["firstName"] == MEMBER_FIRST_NAME),
    )
    ws.last_version = max(versions, default=ticks(SEED_UNTIL))
    return ws


def _entry(rng: random.Random, catalog: Catalog) -> Entity:
    project = rng.choice(catalog.project_weights) if rng.random() > 0.03 else None
    tasks = catalog.tasks_of(project["id"]) if project else []
    task = rng.choice(tasks) if tasks and rng.random() < 0.85 else None
    active = [t for t in catalog.types_of_work.values() if not t["isArchived"]]
    if task is not None and rng.random() < 0.7:
        type_of_work = catalog.types_of_work[task["typeOfWorkId"]]
    else:
        type_of_work = rng.choice(active)
    user = rng.choice(catalog.people)
    entry: Entity = {
        "id": new_id(rng),
        "isBillable": _billable(rng, project),
        "isBilled": False,
        "isExternal": False,
        "note": _note(rng, type_of_work["name"]),
        "typeOfWorkId": type_of_work["id"],
        "typeOfWork": nested_type_of_work(type_of_work),
        "projectId": project["id"] if project else None,
        "taskId": task["id"] if task else None,
        "userId": user["id"],
        "user": nested_user(user),
        "timezone": "Europe/Berlin",
        "breakDuration": 0,
        "breaks": [],
    }
    if project is not None:
        entry["project"] = _nested_project(rng, project)
    if task is not None:
        entry["task"] = catalog.nested_task(task)
    _times(rng, entry)
    if (
        entry["isBillable"]
        and entry["startDateUtc"] < f"{SEED_UNTIL - timedelta(days=28):%Y-%m-%d}"
    ):
        entry["isBilled"] = rng.random() < 0.6
    return entry


def _billable(rng: random.Random, project: Entity | None) -> bool:
    if project is None:
        return False
    default = project["isBillableByDefault"]
    billable = bool(project.get("companyId")) if default is None else bool(default)
    return billable if rng.random() > 0.12 else not billable


def _note(rng: random.Random, type_name: str) -> str | None:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.20:  # a note that belongs to another type of work: rules have work to do
        type_name = rng.choice(sorted(NOTES))
    return rng.choice(NOTES.get(type_name, NOTES["Internal"]))


def _nested_project(rng: random.Random, project: Entity) -> Entity:
    nested = nested_project(project)
    roll = rng.random()
    if roll < 0.04:  # the older field name instead of the current one (SPEC 7.1)
        nested["key"] = nested.pop("projectKey")
    elif roll < 0.06:  # or next to it
        nested["key"] = nested["projectKey"]
    return nested


def _times(rng: random.Random, entry: Entity) -> None:
    """Start, end, duration and bookkeeping; 2% running timers, 3% start + duration only."""
    first = (SEED_UNTIL - timedelta(days=70)).date()
    day = first + timedelta(days=rng.randrange(70))
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    shape = rng.random()
    if shape < 0.02:
        day = SEED_UNTIL.date()
    offset = _berlin_offset(day)
    local_start = datetime(
        day.year, day.month, day.day, rng.randrange(8, 17), rng.randrange(0, 60, 5)
    )
    fraction = rng.randrange(10_000_000) if rng.random() < 0.5 else None
    start = (local_start - offset).replace(tzinfo=UTC)
    duration = rng.choice([900, 1800, 2700, 3600, 5400, 7200, 10800, 14400])
    if rng.random() < 0.1:
        duration += rng.randrange(1, 900)
    entry.update(_stamp("start", start, offset, fraction))
    if shape < 0.02:
        entry.update(_stamp("end", None, offset, None), duration=0)
    elif shape < 0.05:
        entry["duration"] = duration
    else:
        end = start + timedelta(seconds=duration)
        entry.update(_stamp("end", end, offset, fraction), duration=duration)
    created = start + timedelta(seconds=entry["duration"] + rng.randrange(30, 600))
    updated = created + timedelta(days=rng.randrange(1, 4)) if rng.random() < 0.2 else created
    version = ticks(updated) + rng.randrange(10_000_000)  # the 7 fractional digits
    entry.update(
        createdBy=entry["userId"],
        createdOn=iso7(created),
        updatedBy=entry["userId"],
        updatedOn=iso_ticks(version),
        resourceVersion=version,
    )


def _stamp(
    prefix: str, moment: datetime | None, offset: timedelta, fraction: int | None
) -> dict[str, Any]:
    if moment is None:
        return {
            f"{prefix}{part}": None for part in ("DateUtc", "TimeUtc", "DateLocal", "TimeLocal")
        }
    local = moment + offset
    tail = f".{fraction:07d}" if fraction is not None else ""
    return {
        f"{prefix}DateUtc": f"{moment:%Y-%m-%d}T00:00:00Z",
        f"{prefix}TimeUtc": f"{moment:%H:%M:%S}{tail}",
        f"{prefix}DateLocal": f"{local:%Y-%m-%d}T00:00:00",
        f"{prefix}TimeLocal": f"{local:%H:%M:%S}{tail}",
    }


def _berlin_offset(day: date) -> timedelta:
    """Europe/Berlin's UTC offset on a day (EU rule: summer time between the last Sundays of
    March and October), computed so the seed needs no tz database."""

    def last_sunday(month: int) -> date:
        last = date(day.year, month, 31)
        return last - timedelta(days=(last.weekday() + 1) % 7)

    summer = last_sunday(3) <= day < last_sunday(10)
    return timedelta(hours=2 if summer else 1)
