"""`simulate`'s view of budgets: per budget the rules read (`budget.*`), its seconds, the seconds
its entries use once the rules have decided, and the entries within and over it.

A budget is shown as a simulation found it last: each time a page touches it, it is evaluated
whole (all its entries, also those outside the simulated period), so every look is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workers.cli.tables import table
from workers.rules.budgets import iso
from workers.rules.ordered import Use, own_seconds


@dataclass(frozen=True)
class Line:
    """One entry of a budget, as a person reads it."""

    entry: str
    date: str
    hours: float

    @classmethod
    def of(cls, entry_id: str, entries: Mapping[str, Mapping[str, Any]]) -> Line:
        entry = entries.get(entry_id) or {}
        day = str(entry.get("startDateLocal") or entry.get("startDateUtc") or "")[:10]
        return cls(entry_id, day, round(own_seconds(entry) / 3600, 2))


class BudgetView:
    """The budgets a simulation evaluated (`add`), as JSON (`as_list`) or text (`lines`)."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self._budgets: dict[str, dict[str, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self._budgets)

    def add(
        self,
        uses: list[Use],
        names: Mapping[str, str],
        entries: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """The uses of one evaluation; `entries` by id, for the lines over the budget."""
        for use in uses:
            self._budgets[use.budget.key] = _shown(use, names, entries)

    def as_list(self) -> list[dict[str, Any]]:
        shown = sorted(self._budgets.values(), key=lambda b: (b["project_name"], b["key"]))
        return [{k: v for k, v in b.items() if k != "over_lines"} for b in shown]

    def lines(self) -> list[str]:
        """A table of the budgets, then the entries over each (up to `samples` a budget)."""
        shown = self.as_list()
        rows = [
            {
                "budget": b["kind"],
                "project": b["project_name"] or b["project"],
                "period": _period(b),
                "hours": _hours(b["seconds"]),
                "used": _hours(b["used_seconds"]),
                "used %": "-" if b["used_percent"] is None else f"{b['used_percent']:.1f}",
                "within": len(b["within"]),
                "over": len(b["over"]),
            }
            for b in shown
        ]
        out = ["", f"Budgets ({len(shown)}):"]
        out += table(rows, list(rows[0]), max_width=36) if rows else []
        for budget in sorted(self._budgets.values(), key=lambda b: b["key"]):
            over: list[Line] = budget["over_lines"][: self.samples]
            if over:
                where = f"{budget['project_name'] or budget['project']} {_period(budget)}"
                out += ["", f"Over the {budget['kind']} budget of {where}:"]
                out += table([vars(line) for line in over], ["entry", "date", "hours"])
        return out


def _shown(
    use: Use, names: Mapping[str, str], entries: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    budget = use.budget
    return {
        "key": budget.key,
        "kind": budget.kind,
        "label": budget.label,
        "project": budget.project,
        "project_name": names.get(budget.project, ""),
        "start": iso(budget.start) if budget.start is not None else None,
        "end": iso(budget.end) if budget.end is not None else None,
        "seconds": budget.seconds,
        "used_seconds": use.used,
        "used_percent": use.percent,
        "deduct_non_billable_hours": budget.deduct_all,
        "within": list(use.within),
        "over": list(use.over),
        "over_lines": [Line.of(i, entries) for i in use.over],
    }


def _period(budget: Mapping[str, Any]) -> str:
    if budget["start"] is None:
        return "whole project"
    return f"{budget['label'].split()[-1]} ({budget['start'][:16]}Z..)"


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.1f} h"
