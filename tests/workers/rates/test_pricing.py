"""Pricing entries: billed minutes, rates, rounding and surcharges — on cases computed by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from workers.rates import Priced, billed_minutes, local_start, parse_rates, price
from workers.rates.model import Rounding

RATES = """\
version: 1
currency: EUR
rates:
  - when: {project.company.name: "Nordlicht Brauerei GmbH"}
    hourly: 110
    until: 2026-09-30
  - when: {project.company.name: "Nordlicht Brauerei GmbH"}
    hourly: 120
    from: 2026-10-01
  - when: {project.company.name: "Kiezkind Bakery"}
    hourly: 0.10
  - when: {project.company.name: {ne: "Our Agency GmbH"}}
    hourly: 100
rounding:
  - when: {typeOfWork.name: Meeting}
    increment_minutes: 15
    minimum_minutes: 30
  - when: {typeOfWork.name: Design}
    increment_minutes: 6
surcharges:
  - when: {weekday: {in: [sat, sun]}}
    factor: 1.5
  - when: {localStartHour: {ge: 20}}
    factor: 1.25
"""
TABLE = parse_rates(RATES, "rates.yaml")


def entry(
    company: str = "Hafenkante Logistik GmbH",
    day: str = "2026-10-14",  # a Wednesday
    clock: str = "10:00:00",
    work: str = "Development",
) -> dict[str, Any]:
    return {
        "startDateLocal": f"{day}T00:00:00",
        "startTimeLocal": clock,
        "project": {"name": "P", "company": {"name": company}},
        "typeOfWork": {"name": work},
    }


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [(1000, "16.67"), (90, "1.50"), (1010, "16.83"), (0, "0.00"), (3599, "59.98")],
)
def test_without_rounding_billed_minutes_are_seconds_over_60_to_two_decimals(
    seconds: int, minutes: str
) -> None:
    assert billed_minutes(seconds, None) == Decimal(minutes)
    assert price(entry(), seconds, None) == Priced(Decimal(minutes))


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    # 15-minute steps, at least 30: 16.67 min -> 2 steps = 30; 61.67 -> 5 steps = 75;
    # 1 min -> 15 -> raised to 30; exactly 45 min -> 45 (no step up on a whole step)
    [(1000, "30.00"), (3700, "75.00"), (60, "30.00"), (2700, "45.00"), (2701, "60.00")],
)
def test_rounding_rounds_up_to_the_increment_and_at_least_the_minimum(
    seconds: int, minutes: str
) -> None:
    rounding = Rounding(TABLE.rounding[0].when, 15, 30, TABLE.rounding[0].effect, 1)
    assert billed_minutes(seconds, rounding) == Decimal(minutes)


def test_amount_is_billed_minutes_over_60_times_rate() -> None:
    # 5400 s = 90.00 min at 100/h = 150.00
    assert price(entry(), 5400, TABLE) == Priced(
        Decimal("90.00"), Decimal(100), Decimal(1), Decimal("150.00")
    )


def test_amount_uses_the_two_decimal_minutes_then_rounds_once() -> None:
    # 1010 s -> 16.83 min (not 16.8333…): 16.83 × 100 / 60 = 28.05 (the exact time gives 28.06)
    assert price(entry(), 1010, TABLE).amount == Decimal("28.05")


def test_cents_round_half_up() -> None:
    # 180 s = 3.00 min at 0.10/h = 0.005 -> 0.01 (banker's rounding would give 0.00)
    priced = price(entry(company="Kiezkind Bakery"), 180, TABLE)
    assert (priced.rate, priced.amount) == (Decimal("0.10"), Decimal("0.01"))


def test_the_first_rate_in_effect_wins_by_local_date() -> None:
    september = price(entry("Nordlicht Brauerei GmbH", day="2026-09-30"), 3600, TABLE)
    october = price(entry("Nordlicht Brauerei GmbH", day="2026-10-01"), 3600, TABLE)
    other = price(entry(), 3600, TABLE)
    assert (september.rate, october.rate, other.rate) == (Decimal(110), Decimal(120), Decimal(100))
    assert (september.amount, october.amount) == (Decimal("110.00"), Decimal("120.00"))


def test_the_local_date_decides_not_the_utc_one() -> None:
    # 00:30 on 1 October in Berlin is 22:30 UTC on 30 September: October's rate applies
    shifted = {
        **entry("Nordlicht Brauerei GmbH", day="2026-10-01", clock="00:30:00"),
        "startDateUtc": "2026-09-30T00:00:00Z",
        "startTimeUtc": "22:30:00",
    }
    assert price(shifted, 3600, TABLE).rate == Decimal(120)


def test_every_matching_surcharge_applies_factors_multiplied() -> None:
    # Saturday 21:00, 60 min at 100/h: × 1.5 (weekend) × 1.25 (evening) = 187.50
    saturday_evening = price(entry(day="2026-10-17", clock="21:00:00"), 3600, TABLE)
    assert saturday_evening.surcharge == Decimal("1.875")
    assert saturday_evening.amount == Decimal("187.50")
    saturday = price(entry(day="2026-10-17"), 3600, TABLE)
    assert (saturday.surcharge, saturday.amount) == (Decimal("1.5"), Decimal("150.00"))
    evening = price(entry(clock="20:00:00"), 3600, TABLE)
    assert (evening.surcharge, evening.amount) == (Decimal("1.25"), Decimal("125.00"))


def test_rounding_and_rate_and_surcharge_together() -> None:
    # a Sunday meeting of 1000 s at 120/h: 30.00 min (15-min steps, minimum 30)
    # -> 30 / 60 × 120 × 1.5 = 90.00
    meeting = entry("Nordlicht Brauerei GmbH", day="2026-10-18", work="Meeting")
    assert price(meeting, 1000, TABLE) == Priced(
        Decimal("30.00"), Decimal(120), Decimal("1.5"), Decimal("90.00")
    )
    # design in 6-minute steps, no minimum: 1000 s = 16.67 min -> 18 min at 100/h = 30.00
    design = price(entry(work="Design"), 1000, TABLE)
    assert (design.billed_minutes, design.amount) == (Decimal("18.00"), Decimal("30.00"))


def test_no_rate_in_effect_leaves_rate_and_amount_empty() -> None:
    priced = price(entry("Our Agency GmbH"), 3600, TABLE)
    assert (priced.billed_minutes, priced.rate, priced.amount) == (Decimal("60.00"), None, None)


def test_local_start_falls_back_to_the_utc_start_in_the_entry_timezone() -> None:
    older = {"startDateUtc": "2026-09-30T00:00:00Z", "startTimeUtc": "22:30:00.1234567"}
    berlin = local_start({**older, "timezone": "Europe/Berlin"})
    assert berlin is not None
    assert (berlin.day.isoformat(), berlin.hour, berlin.weekday) == ("2026-10-01", 0, "thu")
    utc = local_start({**older, "timezone": "Nowhere/Unknown"})
    assert utc is not None
    assert (utc.day.isoformat(), utc.hour) == ("2026-09-30", 22)
    assert local_start({}) is None
