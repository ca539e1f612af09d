"""What a close covers: a scope (one company, by id or name, or a list of projects) and a period
of local dates — the `filterby` that reads it from awork, and the local test that decides.

awork filters on UTC dates (`startDateUtc`), but an entry belongs to the period of its local
start date (`startDateLocal`, SPEC §6a): an entry at 00:30 on 1 November in Berlin started on
31 October in UTC. So the read window is one day wider on each side, and the entries read are
then kept by their local start date (`workers.rates.local_start`) and their scope. A company
name matches exactly, ignoring case (awork's `tolower`), an id as awork writes it.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from service.contract.ids import is_guid
from workers.awork import filterby
from workers.rates import local_start


@dataclass(frozen=True)
class Period:
    """Local days `start` to `end`, both included; `label` is `2026-10` for a whole month."""

    start: date
    end: date
    label: str | None = None

    @classmethod
    def month(cls, text: str) -> Period:
        """`YYYY-MM` as the month's first to last day (ValueError when it is not one)."""
        year, _, month = text.partition("-")
        shaped = len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()
        if not shaped or not 1 <= int(month) <= 12:
            raise ValueError(f"invalid month {text!r} (expected YYYY-MM)")
        first = date(int(year), int(month), 1)
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return cls(first, last, text)

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    def describe(self) -> str:
        days = f"{self.start.isoformat()}..{self.end.isoformat()}"
        return f"{self.label} ({days})" if self.label else days

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Period:
        start, end = date.fromisoformat(data["from"]), date.fromisoformat(data["to"])
        label = data.get("label")
        return cls(start, end, str(label) if label else None)


@dataclass(frozen=True)
class Scope:
    """One company (`company_id` and/or `company_name`) or the projects `projects`."""

    company_id: str | None = None
    company_name: str | None = None
    projects: tuple[str, ...] = ()

    @classmethod
    def company(cls, text: str) -> Scope:
        """`--company NAME|ID`: an id when it is a GUID, else a name."""
        if is_guid(text):
            return cls(company_id=text.lower())
        return cls(company_name=text)

    def filterby(self) -> str:
        """The part of awork's `filterby` that selects the scope."""
        if self.projects:
            return filterby.ids_in(self.projects, field="projectId")
        if self.company_id:
            return filterby.eq_guid("project/companyId", self.company_id)
        name = filterby.text((self.company_name or "").lower())
        return f"tolower(project/company/name) eq {name}"

    def holds(self, entry: Mapping[str, Any]) -> bool:
        """Whether `entry` is in scope (what awork's filter selected, checked again here)."""
        if self.projects:
            return str(entry.get("projectId") or "").lower() in self.projects
        company = (entry.get("project") or {}).get("company") or {}
        if self.company_id:
            found = company.get("id")  # not every payload nests it: awork's filter decided
            return found is None or str(found).lower() == self.company_id
        name = company.get("name")
        return isinstance(name, str) and name.casefold() == (self.company_name or "").casefold()

    def named(self, entries: list[dict[str, Any]]) -> Scope:
        """This scope with the company's id and name as awork spells them, from `entries`."""
        if self.projects:
            return self
        for entry in entries:
            company = (entry.get("project") or {}).get("company") or {}
            if company.get("id") and company.get("name"):
                return Scope(str(company["id"]).lower(), str(company["name"]))
        return self

    def describe(self) -> str:
        if self.projects:
            return f"project{'s' if len(self.projects) > 1 else ''} {', '.join(self.projects)}"
        return f"company {self.company_name or self.company_id}"

    def to_dict(self) -> dict[str, Any]:
        if self.projects:
            return {"projects": list(self.projects)}
        return {"company": {"id": self.company_id, "name": self.company_name}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        if "projects" in data:
            return cls(projects=tuple(data["projects"]))
        company = data.get("company") or {}
        return cls(company.get("id"), company.get("name"))


@dataclass(frozen=True)
class Selection:
    """The entries of `scope` whose local start day falls in `period`."""

    scope: Scope
    period: Period

    def filterby(self) -> str:
        """awork's `filterby`: the scope, and start days (UTC) one day wider on each side."""
        return filterby.both(
            filterby.ge("startDateUtc", filterby.day_start(self.period.start - timedelta(days=1))),
            filterby.le("startDateUtc", filterby.day_end(self.period.end + timedelta(days=1))),
            self.scope.filterby(),
        )

    def holds(self, entry: Mapping[str, Any]) -> bool:
        start = local_start(entry)
        return start is not None and self.period.holds(start.day) and self.scope.holds(entry)

    def describe(self) -> str:
        return f"{self.period.describe()}, {self.scope.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope.to_dict(),
            "period": {**self.period.to_dict(), "label": self.period.label},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Selection:
        return cls(Scope.from_dict(data["scope"]), Period.from_dict(data["period"]))
