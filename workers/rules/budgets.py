"""Budgets (SPEC 6a): which budget a time entry belongs to, and the order of a budget's entries.

A project has at most one budget of its own, its `timeBudget` (seconds, when > 0), and a
retainer's monthly budgets (`GET /projects/{id}/retainers`: `retainerBudgets[]`, each with
`timeBudget` — carry-over included — `startDate` and `endDate`). An entry belongs to

- the retainer budget whose period `[startDate, endDate)` holds its start instant (compared as
  instants; when periods overlap, the one that starts first), else
- the project's own budget, when `timeBudget` > 0, else
- no budget.

The **start instant** is the date of `startDateUtc` with the time `startTimeUtc` (awork keeps the
date at midnight and the time apart); an entry without a readable start belongs to no budget,
since it cannot be put in order. A budget's entries are ordered by start instant, then
`createdOn`, then id (lower-case). Instants are compared as 100 ns ticks since 0001-01-01 UTC:
awork writes seven fractional digits.

Pure: awork's project and retainer models in, `Budget`s out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

Kind = Literal["retainer", "project"]
TICKS_PER_SECOND = 10_000_000
_DAY = 86_400 * TICKS_PER_SECOND
_LAST = 2**63
_INSTANT = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_CLOCK = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?")


@dataclass(frozen=True)
class Budget:
    """One budget: a retainer period of a project (`start`/`end` in ticks) or the project's own
    (`start`/`end` None). `deduct_all`: the project's `deductNonBillableHours`."""

    kind: Kind
    project: str
    seconds: int
    deduct_all: bool = False
    start: int | None = None
    end: int | None = None

    @property
    def key(self) -> str:
        """`project:<id>` or `retainer:<id>:<startDate>/<endDate>`: names it in Redis and logs."""
        if self.start is None or self.end is None:
            return f"project:{self.project}"
        return f"retainer:{self.project}:{iso(self.start)}/{iso(self.end)}"

    @property
    def label(self) -> str:
        """For people: `project budget`, or a retainer period's month (`2026-11`, the month its
        middle falls in: periods run from local midnight to local midnight)."""
        if self.start is None or self.end is None:
            return "project budget"
        return f"retainer {iso((self.start + self.end) // 2)[:7]}"

    def holds(self, instant: int) -> bool:
        """Whether an entry starting at `instant` lies in this retainer period."""
        return self.start is not None and self.end is not None and self.start <= instant < self.end


@dataclass(frozen=True)
class ProjectBudgets:
    """The budgets of one project: its retainer periods (by start) and its own `timeBudget`."""

    project: str
    periods: tuple[Budget, ...] = ()
    own: Budget | None = None

    def of(self, entry: Mapping[str, Any]) -> Budget | None:
        """The budget `entry` belongs to (module docstring), or None."""
        instant = start_instant(entry)
        if instant is None:
            return None
        return next((p for p in self.periods if p.holds(instant)), self.own)

    def all(self) -> tuple[Budget, ...]:
        return (*self.periods, self.own) if self.own is not None else self.periods


def project_budgets(
    project: Mapping[str, Any], retainers: Iterable[Mapping[str, Any]] = ()
) -> ProjectBudgets:
    """The budgets of `project` (awork's `Project`, or the part of it the workers cache) and of
    its `retainers` (awork's `Retainer`, with `retainerBudgets`)."""
    project_id = str(project.get("id") or "").lower()
    deduct = project.get("deductNonBillableHours") is True
    periods = [
        Budget("retainer", project_id, _seconds(b.get("timeBudget")), deduct, start, end)
        for retainer in retainers
        for b in retainer.get("retainerBudgets") or []
        if (start := instant_of(b.get("startDate"))) is not None
        and (end := instant_of(b.get("endDate"))) is not None
        and start < end
    ]
    periods.sort(key=lambda p: (p.start, p.end))
    seconds = _seconds(project.get("timeBudget"))
    own = Budget("project", project_id, seconds, deduct) if seconds > 0 else None
    return ProjectBudgets(project_id, tuple(periods), own)


def project_of(entry: Mapping[str, Any]) -> str | None:
    """The entry's project id (lower-case): `projectId`, else the nested `project.id`."""
    nested = entry.get("project")
    value = entry.get("projectId") or (nested.get("id") if isinstance(nested, dict) else None)
    return value.lower() if isinstance(value, str) and value else None


def start_instant(entry: Mapping[str, Any]) -> int | None:
    """The start instant in ticks: the date of `startDateUtc`, the time of `startTimeUtc`
    (when present; else whatever time `startDateUtc` carries — midnight in awork's models)."""
    day = instant_of(entry.get("startDateUtc"))
    if day is None:
        return None
    clock = entry.get("startTimeUtc")
    found = _CLOCK.fullmatch(clock.strip()) if isinstance(clock, str) else None
    if found is None:
        return day
    hours, minutes, seconds, fraction = found.groups()
    midnight = day - day % _DAY
    return midnight + _clock(hours, minutes, seconds, fraction)


def order_key(entry: Mapping[str, Any]) -> tuple[int, int, str]:
    """Where `entry` stands among its budget's entries: start, `createdOn`, id."""
    start = start_instant(entry)
    created = instant_of(entry.get("createdOn"))
    return (
        _LAST if start is None else start,
        _LAST if created is None else created,
        str(entry.get("id") or "").lower(),
    )


def instant_of(value: object) -> int | None:
    """An ISO 8601 date or instant as ticks (naive means UTC); None when unreadable."""
    if not isinstance(value, str):
        return None
    found = _INSTANT.fullmatch(value.strip())
    if found is None:
        return None
    day, hours, minutes, seconds, fraction, offset = found.groups()
    try:
        ordinal = date.fromisoformat(day).toordinal() - 1
    except ValueError:
        return None
    clock = _clock(hours or "0", minutes or "0", seconds, fraction)
    return ordinal * _DAY + clock - _offset(offset)


def ticks_of(moment: datetime) -> int:
    """An aware datetime as ticks (naive means UTC)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    clock = (utc.hour * 3600 + utc.minute * 60 + utc.second) * TICKS_PER_SECOND
    return (utc.toordinal() - 1) * _DAY + clock + utc.microsecond * 10


def iso(ticks: int) -> str:
    """Ticks as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds)."""
    day, rest = divmod(ticks, _DAY)
    seconds = rest // TICKS_PER_SECOND
    written = date.fromordinal(day + 1).isoformat()
    return f"{written}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def _clock(hours: str, minutes: str, seconds: str | None, fraction: str | None) -> int:
    whole = int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
    return whole * TICKS_PER_SECOND + int((fraction or "0")[:7].ljust(7, "0"))


def _offset(offset: str | None) -> int:
    if not offset or offset == "Z":
        return 0
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4])
    return (-1 if offset[0] == "-" else 1) * minutes * 60 * TICKS_PER_SECOND


def _seconds(value: object) -> int:
    """A `timeBudget` in seconds (awork sends an int32; null or nonsense count as none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value)
