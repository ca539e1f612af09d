"""Pricing one entry with a `RateTable` (issue 12, SPEC §6a) — pure, `Decimal` throughout.

- **Billed minutes**: with a rounding rule, `ceil(seconds/60 / increment) × increment`, at least
  its minimum; without one, `seconds/60` to two decimals (half up). Always two decimals.
- **Rate** and **rounding**: the first item in effect on the entry's local start day whose `when`
  matches; **surcharge**: the product of every matching factor (1 when none matches).
- **Amount**: `billed_minutes / 60 × rate × surcharge`, rounded once, half up to cents.

Without a table only the billed minutes are filled (`seconds/60`); with a table but no rate in
effect, rate and amount stay empty (`Priced.rate is None`) and the caller says so. Conditions
see the entry as given (the close passes it as the rules leave it) plus `weekday` and
`localStartHour`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, TypeVar

from workers.rates.localstart import local_start, with_local_fields
from workers.rates.model import InEffect, RateTable, Rounding
from workers.rules.conditions import Condition

CENT = Decimal("0.01")
SIXTY = Decimal(60)


class _Item(Protocol):
    @property
    def when(self) -> Condition: ...
    @property
    def effect(self) -> InEffect: ...


ItemT = TypeVar("ItemT", bound=_Item)


@dataclass(frozen=True)
class Priced:
    """What one entry is billed: minutes always; rate, surcharge and amount with a table."""

    billed_minutes: Decimal
    rate: Decimal | None = None
    surcharge: Decimal | None = None
    amount: Decimal | None = None


def price(entry: Mapping[str, Any], seconds: int, table: RateTable | None) -> Priced:
    """Price `entry` (its duration `seconds`) by `table` (module docstring)."""
    if table is None:
        return Priced(billed_minutes(seconds, None))
    view = with_local_fields(entry)
    start = local_start(entry)
    day = start.day if start is not None else None
    rate = _first(table.rates, view, day)
    minutes = billed_minutes(seconds, _first(table.rounding, view, day))
    factor = Decimal(1)
    for surcharge in _matching(table.surcharges, view, day):
        factor *= surcharge.factor
    if rate is None:
        return Priced(minutes, None, factor, None)
    return Priced(minutes, rate.hourly, factor, amount(minutes, rate.hourly, factor))


def billed_minutes(seconds: int, rounding: Rounding | None) -> Decimal:
    """The minutes billed for `seconds` of work (module docstring)."""
    if rounding is None:
        return (Decimal(seconds) / SIXTY).quantize(CENT, ROUND_HALF_UP)
    steps = -(-seconds // (60 * rounding.increment))  # ceil, in whole numbers
    return Decimal(max(steps * rounding.increment, rounding.minimum)).quantize(CENT)


def amount(minutes: Decimal, hourly: Decimal, factor: Decimal) -> Decimal:
    """`minutes / 60 × hourly × factor`, rounded half up to cents — once."""
    return (minutes * hourly * factor / SIXTY).quantize(CENT, ROUND_HALF_UP)


def _first(items: Iterable[ItemT], view: Mapping[str, Any], day: date | None) -> ItemT | None:
    return next(iter(_matching(items, view, day)), None)


def _matching(items: Iterable[ItemT], view: Mapping[str, Any], day: date | None) -> list[ItemT]:
    """The items in effect on `day` whose condition holds (an entry without a start day is
    matched only by items without dates)."""
    found = []
    for item in items:
        dated = item.effect.start is not None or item.effect.until is not None
        in_effect = item.effect.holds_on(day) if day is not None else not dated
        if in_effect and item.when(view):
            found.append(item)
    return found
