"""The demo's story: people of the sandbox's agency tracking time through awork's public API —
a timer, an entry booked afterwards, a note edited, an entry moved, one deleted, a booking that
goes over a retainer — then a project becoming a retainer and fanning out, and an operator
backfilling the rest.

Each step is a function of `Actors` (an httpx client per person, each with that person's own
key, `sandbox-token-<first name>`) that returns a line saying what happened; `workers.cli.demo`
runs them one after the other and reports what awork sent and what the rules did.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from service.sandbox import PERSON_TOKEN_PREFIX, SandboxState, envelope, project_updated
from workers.apply.billing import Billing
from workers.cli.backfill import Plan, Run, backfill
from workers.cli.period import Period
from workers.cli.progress import Progress


@dataclass
class Actors:
    """The people at their awork (the sandbox), the sandbox itself, and the worker's `Billing`
    (for the operator's backfill)."""

    url: str
    sandbox: SandboxState
    billing: Billing

    def person(self, first_name: str) -> httpx.AsyncClient:
        """A client of `first_name`'s, with their own API key."""
        token = f"{PERSON_TOKEN_PREFIX}{first_name.lower()}"
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"})

    def project(self, name: str) -> dict[str, Any]:
        return next(p for p in self.sandbox.workspace.projects.values() if p["name"] == name)

    def type_of_work(self, name: str) -> str:
        types = self.sandbox.workspace.types_of_work.values()
        return str(next(t["id"] for t in types if t["name"] == name))

    def user(self, first_name: str) -> str:
        users = self.sandbox.workspace.users.values()
        return str(next(u["id"] for u in users if u.get("firstName") == first_name))

    def entry(
        self, first_name: str, project: str, fits: Callable[[dict[str, Any]], bool] = bool
    ) -> dict[str, Any]:
        """One of the person's finished, unbilled entries on `project` that `fits`."""
        user, project_id = self.user(first_name), self.project(project)["id"]
        return next(
            e
            for e in self.sandbox.workspace.entries.values()
            if e.get("userId") == user
            and e.get("projectId") == project_id
            and e.get("duration")
            and not e.get("isBilled")
            and fits(e)
        )


Step = Callable[[Actors], Awaitable[str]]


async def timer(actors: Actors) -> str:
    project = actors.project("Internal: Agency Website")
    form = {
        "timezone": "Europe/Berlin",
        "typeOfWorkId": actors.type_of_work("Development"),
        "projectId": project["id"],
        "note": "Weekly team call",
    }
    async with actors.person("Carla") as carla:
        (await carla.post("/me/timetracking/start", json=form)).raise_for_status()
        await asyncio.sleep(1.2)  # a timer runs: the rules leave it alone until it stops
        (await carla.post("/me/timetracking/stop")).raise_for_status()
    return f'Carla starts a timer on "{project["name"]}" ("Weekly team call") and stops it'


async def booked_afterwards(actors: Actors) -> str:
    project = actors.project("RET Alpenblick Hotels")
    form = {
        "timezone": "Europe/Berlin",
        "userId": actors.user("Ben"),
        "typeOfWorkId": actors.type_of_work("Design"),
        "projectId": project["id"],
        "startDateLocal": "2026-11-19",
        "startTimeLocal": "09:00",
        "duration": 7200,
        "note": "Booking page redesign",
    }
    async with actors.person("Ben") as ben:
        (await ben.post("/timeentries", json=form)).raise_for_status()
    return f'Ben books 2 h of design on "{project["name"]}" after the fact'


async def note_edited(actors: Actors) -> str:
    meeting = actors.type_of_work("Meeting")
    entry = actors.entry("Anna", "Nordlicht Webshop", lambda e: e["typeOfWorkId"] != meeting)
    form = _put_form(entry, note="Call with the client about the checkout")
    async with actors.person("Anna") as anna:
        (await anna.put(f"/timeentries/{entry['id']}", json=form)).raise_for_status()
    return 'Anna edits a note on "Nordlicht Webshop": "Call with the client about the checkout"'


async def moved(actors: Actors) -> str:
    entry = actors.entry("David", "Hafenkante Dashboard", lambda e: e["isBillable"] is True)
    target = actors.project("Internal: Admin & Ops")
    body = {"timeEntryIds": [entry["id"]], "newProjectId": target["id"]}
    async with actors.person("David") as david:
        (await david.post("/timeentries/batch/setProject", json=body)).raise_for_status()
    return f'David moves an entry from "Hafenkante Dashboard" to "{target["name"]}"'


async def deleted(actors: Actors) -> str:
    entry = actors.entry("Elif", "Kiezkind Brand Refresh")
    async with actors.person("Elif") as elif_:
        (await elif_.delete(f"/timeentries/{entry['id']}")).raise_for_status()
    return 'Elif deletes an entry she booked twice on "Kiezkind Brand Refresh"'


async def over_the_retainer(actors: Actors) -> str:
    """A booking late in a retainer month with 1 h left: 2 h go over (the sandbox's retainer
    client: 19 h of 20 h booked in November)."""
    project = actors.project("RET Seeblick Kliniken")
    form = {
        "timezone": "Europe/Berlin",
        "userId": actors.user("Anna"),
        "typeOfWorkId": actors.type_of_work("Development"),
        "projectId": project["id"],
        "startDateLocal": "2026-11-20",
        "startTimeLocal": "16:00",  # after every other entry of the month
        "duration": 7200,
        "note": "Release support for the patient portal",
    }
    async with actors.person("Anna") as anna:
        (await anna.post("/timeentries", json=form)).raise_for_status()
    return (
        f'Anna books 2 h on "{project["name"]}", whose November retainer (20 h) had 1 h left: '
        "the booking goes over"
    )


async def project_fans_out(actors: Actors) -> str:
    """awork's side of a project change: the project, then every entry embedding it."""
    ws = actors.sandbox.workspace
    project = actors.project("Kiezkind Brand Refresh")
    project["isRetainer"] = True
    project["resourceVersion"] = ws.next_version()
    mine = [i for i, e in ws.entries.items() if e.get("projectId") == project["id"]]
    person = ws.person(actors.user("Felix"))
    for entry_id in mine:
        ws.touch_entry(entry_id)  # the nested project changed: a new version of every entry
    change = [{"property": "IsRetainer", "old": "False", "new": "True"}]
    events = [project_updated(project, triggered_by=person, changes=change)]
    events += [
        envelope("timetracking_updated", ws.entries[i], triggered_by=person, changes=None)
        for i in mine
    ]
    await actors.sandbox.deliver(events)
    return (
        f'Felix turns "{project["name"]}" into a retainer: awork fans out '
        f"{len(mine)} timetracking_updated"
    )


async def backfilled(actors: Actors) -> str:
    """An operator applies the rules to every entry of the period (`awork-billing backfill`)."""
    days = sorted(e["startDateUtc"][:10] for e in actors.sandbox.workspace.entries.values())
    period = Period(date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
    run = Run(Plan(period, dry_run=False))
    progress = Progress("backfill", stream=io.StringIO())  # the demo prints its own summary
    await backfill(actors.billing, run, restart=True, progress=progress)
    pages = f"{run.totals.pages} page" + ("s" if run.totals.pages != 1 else "")
    return (
        f"An operator backfills {period.start}..{period.end}: the rules on every entry, also "
        f"those no webhook announced ({run.totals.entries} read in {pages})"
    )


STEPS: tuple[Step, ...] = (
    timer,
    booked_afterwards,
    note_edited,
    moved,
    deleted,
    over_the_retainer,
    project_fans_out,
    backfilled,
)


def _put_form(entry: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A `TimeTrackingPutForm` that keeps everything of `entry` but `changes` (PUT replaces)."""
    keep = (
        "timezone",
        "typeOfWorkId",
        "projectId",
        "taskId",
        "userId",
        "note",
        "isBillable",
        "isBilled",
        "startDateUtc",
        "startTimeUtc",
        "duration",
    )
    form = {k: entry.get(k) for k in keep if entry.get(k) is not None}
    return {**form, **changes}
