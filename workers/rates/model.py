"""The rates file as the service keeps it (issue 12): what an hour costs, how time is rounded and
which surcharges apply — kept by this service only, never written to awork.

    RateTable(currency, rates, rounding, surcharges, source)
     ├── rates:      Rate(when, hourly, start, until, line)       the first in effect that matches
     ├── rounding:   Rounding(when, increment, minimum, …)        the first in effect that matches
     └── surcharges: Surcharge(when, factor, …)                   every one that matches, multiplied

Every problem with a rates file raises one exception, never a bare YAML or OS error:

    Exception
     └── RatesError(message, source, line)
           str(e) == "rates.yaml:7: rate 2: 'hourly' must be a positive number, got 'abc'"

Amounts are `decimal.Decimal` from the text written in the file (never through a float).
`start`/`until` are local dates, both included (SPEC §6a); None is open-ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from workers.rules.conditions import Condition


class RatesError(Exception):
    """A rates file is unreadable or invalid; says where (file, line) and what."""

    def __init__(self, message: str, source: str = "<string>", line: int | None = None) -> None:
        super().__init__(message, source, line)
        self.message = " ".join(message.split())
        self.source = source
        self.line = line

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class InEffect:
    """The local dates an item of the rates file applies to (both included; None = open)."""

    start: date | None = None
    until: date | None = None

    def holds_on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (
            self.until is None or day <= self.until
        )


@dataclass(frozen=True)
class Rate:
    """`hourly` (in the table's currency) for entries matching `when` while in effect."""

    when: Condition
    hourly: Decimal
    effect: InEffect
    line: int


@dataclass(frozen=True)
class Rounding:
    """Billed time in steps of `increment` minutes, at least `minimum` minutes."""

    when: Condition
    increment: int
    minimum: int
    effect: InEffect
    line: int


@dataclass(frozen=True)
class Surcharge:
    """A factor on the amount (1.5 = +50 %) of entries matching `when`."""

    when: Condition
    factor: Decimal
    effect: InEffect
    line: int


@dataclass(frozen=True)
class RateTable:
    """A loaded rates file (`workers.rates.parser`); price entries with `workers.rates.pricing`."""

    currency: str
    rates: tuple[Rate, ...] = ()
    rounding: tuple[Rounding, ...] = ()
    surcharges: tuple[Surcharge, ...] = ()
    source: str = "<string>"

    def fields(self) -> frozenset[str]:
        """Every field path a `when` of the file reads (the extra local fields included)."""
        conditions: list[Condition] = [r.when for r in self.rates]
        conditions += [r.when for r in self.rounding] + [s.when for s in self.surcharges]
        return frozenset().union(*(condition.fields for condition in conditions))
