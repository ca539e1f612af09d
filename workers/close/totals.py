"""The totals of a close: sums over its lines (`Decimal`, never re-rounded), as a whole, per
company, project and type of work (the summary CSV), and per user.

    {"entries": 45, "seconds": 162000, "billed_minutes": "2712.00", "amount": "5424.00",
     "currency": "EUR", "unpriced": 0, "groups": [{"company", "project", "type_of_work",
     "entries", "seconds", "billed_minutes", "amount"}, …], "users": [{"user", …}, …]}

`amount` is None without a rates file; `unpriced` counts lines no rate was in effect for (their
amounts are missing from the sums, and the preview says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workers.close.lines import Line, money

SUMMARY_COLUMNS = (
    "company",
    "project",
    "type_of_work",
    "entries",
    "seconds",
    "billed_minutes",
    "amount",
    "currency",
)
"""The columns of `REF-summary.csv` (SPEC §6a)."""


@dataclass
class Sum:
    """The sums over some lines."""

    entries: int = 0
    seconds: int = 0
    billed_minutes: Decimal = Decimal("0.00")
    amount: Decimal | None = None
    unpriced: int = 0

    def add(self, line: Line) -> None:
        self.entries += 1
        self.seconds += line.seconds
        self.billed_minutes += line.billed_minutes
        if line.amount is not None:
            self.amount = (self.amount or Decimal("0.00")) + line.amount
        elif line.currency:
            self.unpriced += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "seconds": self.seconds,
            "billed_minutes": money(self.billed_minutes),
            "amount": None if self.amount is None else money(self.amount),
        }


def totals(lines: Sequence[Line], currency: str | None, *, by_user: bool = False) -> dict[str, Any]:
    """The totals of `lines` (module docstring); `users` only with `by_user`."""
    whole = summed(lines)
    if currency and whole.amount is None:
        whole.amount = Decimal("0.00")
    out = {**whole.as_dict(), "currency": currency, "unpriced": whole.unpriced}
    out["groups"] = [
        {"company": company, "project": project, "type_of_work": work, **total.as_dict()}
        for (company, project, work), total in groups(lines)
    ]
    if by_user:
        users = _by(lines, lambda line: (line.user,))
        out["users"] = [{"user": user, **total.as_dict()} for (user,), total in users]
    return out


def summed(lines: Iterable[Line]) -> Sum:
    total = Sum()
    for line in lines:
        total.add(line)
    return total


def groups(lines: Iterable[Line]) -> list[tuple[tuple[str, ...], Sum]]:
    """The sums per (company, project, type of work), sorted by those names."""
    return _by(lines, lambda line: (line.company, line.project, line.type_of_work))


def summary_rows(lines: Sequence[Line], currency: str | None) -> list[list[str]]:
    """The rows of `REF-summary.csv` after its header: one per group, then `TOTAL`."""
    rows = [[*key, *_cells(s, currency)] for key, s in groups(lines)]
    return [*rows, ["TOTAL", "", "", *_cells(summed(lines), currency, whole=True)]]


def _cells(total: Sum, currency: str | None, *, whole: bool = False) -> list[str]:
    """A group no rate was in effect for has no amount (as its entries' rows); the total sums
    what was priced."""
    amount = total.amount
    if amount is None and whole and currency:
        amount = Decimal("0.00")
    return [
        str(total.entries),
        str(total.seconds),
        money(total.billed_minutes),
        money(amount),
        currency or "",
    ]


def _by(
    lines: Iterable[Line], key: Callable[[Line], tuple[str, ...]]
) -> list[tuple[tuple[str, ...], Sum]]:
    found: dict[tuple[str, ...], Sum] = {}
    for line in lines:
        found.setdefault(key(line), Sum()).add(line)
    return sorted(found.items(), key=lambda item: tuple(k.casefold() for k in item[0]))
