"""Budgets in the sandbox, for tests: the retainer client ("RET Seeblick Kliniken") cut down to
one month of a chosen size with no entries, entries booked into it — straight into the sandbox
(`add`, no webhook) or through awork's API as a person (`Booker`, webhooks follow) — and what
the end state looks like."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from service.sandbox import PERSON_TOKEN_PREFIX, Workspace, seed_workspace
from service.sandbox.forms import new_entry

HOUR = 3600
PROJECT_NAME = "RET Seeblick Kliniken"
TZ = "Europe/Berlin"
RULES_MARKING_WITHIN = """
version: 1
rules:
  - name: over-is-overage
    when: {budget.kind: retainer, budget.within: false}
    then: {type_of_work: {name: "Overage"}}
  - name: within-is-development
    when: {budget.kind: retainer, budget.within: true}
    then: {type_of_work: {name: "Development"}}
"""
"""Rules that show `budget.within` in the sandbox both ways (over: "Overage", within:
"Development"), leaving what people may change (unbilled entries) as it is."""


@dataclass
class Retainer:
    """The retainer client's workspace, project and retainer, as a test set them up."""

    ws: Workspace
    project: dict[str, Any]
    retainer: dict[str, Any]

    @property
    def project_id(self) -> str:
        return str(self.project["id"])

    def entries(self) -> list[dict[str, Any]]:
        """The project's entries, by start."""
        mine = [e for e in self.ws.entries.values() if e.get("projectId") == self.project_id]
        return sorted(mine, key=lambda e: (e["startDateUtc"], e["startTimeUtc"]))

    def person(self, first_name: str = "Anna") -> dict[str, Any]:
        return next(u for u in self.ws.users.values() if u.get("firstName") == first_name)

    def form(self, day: str, clock: str, hours: float, **extra: Any) -> dict[str, Any]:
        """A `TimeEntryPostForm` for this project: local `day` and `clock`, `hours` long."""
        task = next(t for t in self.ws.tasks.values() if t.get("projectId") == self.project_id)
        return {
            "timezone": TZ,
            "userId": self.person()["id"],
            "typeOfWorkId": task["typeOfWorkId"],
            "projectId": self.project_id,
            "taskId": task["id"],
            "startDateLocal": day,
            "startTimeLocal": clock,
            "duration": int(hours * HOUR),
            "isBillable": True,
            "note": "Support",
            **extra,
        }

    def add(self, day: str, clock: str, hours: float, **extra: Any) -> dict[str, Any]:
        """An entry stored straight into the sandbox (no webhook)."""
        entry = new_entry(self.ws, self.form(day, clock, hours, **extra))
        return self.ws.add_entry(entry, by=self.ws.person(self.person()["id"]))


def retainer_client(
    hours: float,
    *,
    month: tuple[int, int] = (2026, 11),
    deduct: bool = False,
    entries: int = 0,
    seed: int = 5,
) -> Retainer:
    """The sandbox with the retainer client's retainer cut to one month of `hours`, no carry-over
    and none of its seeded entries; `entries` other seeded entries around it."""
    ws = seed_workspace(entries=entries, seed=seed, retainer_client=True)
    project = next(p for p in ws.projects.values() if p["name"] == PROJECT_NAME)
    (retainer,) = [r for r in ws.retainers.values() if r["projectId"] == project["id"]]
    for entry_id in [i for i, e in ws.entries.items() if e.get("projectId") == project["id"]]:
        del ws.entries[entry_id]
    year, number = month
    retainer.update(
        timeBudget=int(hours * HOUR),
        startDate=f"{year}-{number:02d}-01T00:00:00Z",
        endDate=f"{year}-{number:02d}-02T00:00:00Z",
        rollOverUnderspentBudget=False,
        rollOverOverspentBudget=False,
    )
    project["deductNonBillableHours"] = deduct
    return Retainer(ws, project, retainer)


def this_month() -> tuple[int, int]:
    """The current month where the retainer client is (its retainer's months are local)."""
    now = datetime.now(ZoneInfo(TZ))
    return now.year, now.month


class Booker:
    """A person of the workspace at awork's API: their changes send webhooks like awork's."""

    def __init__(self, url: str, first_name: str = "Anna") -> None:
        token = f"{PERSON_TOKEN_PREFIX}{first_name.lower()}"
        headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.AsyncClient(base_url=url, headers=headers)

    async def __aenter__(self) -> Booker:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def book(self, form: dict[str, Any]) -> str:
        response = await self.client.post("/timeentries", json=form)
        response.raise_for_status()
        return str(response.json()["id"])

    async def delete(self, entry_id: str) -> None:
        (await self.client.delete(f"/timeentries/{entry_id}")).raise_for_status()

    async def move(self, entry_id: str, project_id: str) -> None:
        body = {"timeEntryIds": [entry_id], "newProjectId": project_id}
        (await self.client.post("/timeentries/batch/setProject", json=body)).raise_for_status()


def over(ws: Workspace, ids: list[str]) -> list[bool]:
    """Whether each of `ids` has the type of work "Overage", as the sandbox holds them."""
    overage = {t["id"] for t in ws.types_of_work.values() if t["name"] == "Overage"}
    return [ws.entries[i]["typeOfWorkId"] in overage for i in ids]
