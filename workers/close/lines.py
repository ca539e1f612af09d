"""One line of a close: an entry as it is invoiced — who, what, when, awork's seconds, and the
billed minutes and amount the rates give it (`workers.rates`).

A `Line` is what the snapshot keeps for each entry to close, what the record keeps for each
entry billed, and one row of `REF-entries.csv` (`COLUMNS`). Money and minutes are `Decimal`,
written as plain decimal text (`"112.50"`) in JSON and CSV so that nothing passes through a float;
empty where the rates give none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workers.rates import Priced, local_start

COLUMNS = (
    "entry_id",
    "date",
    "user",
    "company",
    "project",
    "task",
    "type_of_work",
    "note",
    "seconds",
    "billed_minutes",
    "rate",
    "surcharge",
    "amount",
    "currency",
)
"""The columns of `REF-entries.csv` (SPEC §6a), in order."""


@dataclass(frozen=True)
class Line:
    entry_id: str
    date: str
    user: str
    company: str
    project: str
    task: str
    type_of_work: str
    note: str
    seconds: int
    billed_minutes: Decimal
    rate: Decimal | None = None
    surcharge: Decimal | None = None
    amount: Decimal | None = None
    currency: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Every column, numbers of money and minutes as decimal text (None when empty)."""
        return {name: _json(getattr(self, name)) for name in COLUMNS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Line:
        return cls(
            **{name: str(data.get(name) or "") for name in COLUMNS[:8]},
            seconds=int(data.get("seconds") or 0),
            billed_minutes=Decimal(str(data["billed_minutes"])),
            rate=_decimal(data.get("rate")),
            surcharge=_decimal(data.get("surcharge")),
            amount=_decimal(data.get("amount")),
            currency=str(data.get("currency") or ""),
        )

    def csv_row(self) -> list[str]:
        return [_cell(getattr(self, name)) for name in COLUMNS]

    def preview(self) -> dict[str, Any]:
        """The entry as `close preview --json` lists it (SPEC §6a)."""
        data = self.to_dict()
        return {
            "id": self.entry_id,
            **{k: data[k] for k in ("date", "seconds", "billed_minutes", "rate", "surcharge")},
            "amount": data["amount"],
        }


def line_of(entry: Mapping[str, Any], priced: Priced, currency: str | None) -> Line:
    """The line of `entry` (as the rules leave it), priced."""
    start = local_start(entry)
    project = entry.get("project") or {}
    return Line(
        entry_id=str(entry["id"]).lower(),
        date=start.day.isoformat() if start else "",
        user=_user(entry),
        company=str((project.get("company") or {}).get("name") or ""),
        project=str(project.get("name") or ""),
        task=str((entry.get("task") or {}).get("name") or ""),
        type_of_work=str((entry.get("typeOfWork") or {}).get("name") or ""),
        note=str(entry.get("note") or ""),
        seconds=seconds_of(entry),
        billed_minutes=priced.billed_minutes,
        rate=priced.rate,
        surcharge=priced.surcharge,
        amount=priced.amount,
        currency=currency or "",
    )


def seconds_of(entry: Mapping[str, Any]) -> int:
    """awork's `duration` in whole seconds (0 when missing)."""
    duration = entry.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return 0
    return int(duration)


def money(value: Decimal | None) -> str:
    """Decimal text (`"112.50"`), or "" for none."""
    return "" if value is None else format(value, "f")


def _user(entry: Mapping[str, Any]) -> str:
    user = entry.get("user") or {}
    name = " ".join(str(user.get(k)) for k in ("firstName", "lastName") if user.get(k))
    return name or str(entry.get("userId") or "")


def _json(value: object) -> object:
    return format(value, "f") if isinstance(value, Decimal) else value


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return "" if value is None else str(value)


def _decimal(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))
