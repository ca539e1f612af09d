"""Loading a rates file: what it compiles to, and one located error for every mistake."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from workers.rates import RatesError, load_rates, parse_rates

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "rates" / "example-rates.yaml"

VALID = """\
version: 1
currency: CHF
rates:
  - when: {}
    hourly: "97.50"
    from: 2026-01-01
rounding:
  - when: {note: {matches: "(?i)call"}}
    increment_minutes: 15
surcharges:
  - when:
      any:
        - weekday: sun
        - localStartHour: {in: [22, 23]}
    factor: 2
"""


def test_a_valid_file_compiles() -> None:
    table = parse_rates(VALID, "rates.yaml")
    assert table.currency == "CHF"
    (rate,) = table.rates
    assert (rate.hourly, rate.effect.start, rate.effect.until, rate.line) == (
        Decimal("97.50"),
        date(2026, 1, 1),
        None,
        4,
    )
    (rounding,) = table.rounding
    assert (rounding.increment, rounding.minimum) == (15, 0)
    assert table.surcharges[0].factor == Decimal(2)
    assert table.fields() == {"note", "weekday", "localStartHour"}


def test_numbers_are_read_from_their_text_not_through_a_float() -> None:
    table = parse_rates(VALID.replace('"97.50"', "0.1"), "rates.yaml")
    assert table.rates[0].hourly == Decimal("0.1")


def test_lists_may_be_left_out() -> None:
    table = parse_rates("version: 1\ncurrency: EUR\n")
    assert (table.rates, table.rounding, table.surcharges) == ((), (), ())


def test_the_example_file_is_valid() -> None:
    table = load_rates(EXAMPLE)
    assert table.currency == "EUR"
    assert (len(table.rates), len(table.rounding), len(table.surcharges)) == (4, 2, 2)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "rates.yaml: the rates file is empty"),
        ("version: 2\ncurrency: EUR\n", "rates.yaml:1: unsupported version '2'"),
        ("version: 1\n", "rates.yaml: missing 'currency'"),
        ("version: 1\ncurrency: euro\n", "rates.yaml:2: 'currency' must be an ISO 4217 code"),
        ("version: 1\ncurrency: EUR\nrate: []\n", "rates.yaml:3: unknown top-level key 'rate'"),
        (
            "version: 1\ncurrency: EUR\nrates:\n  - when: {}\n    hourly: -5\n",
            "rates.yaml:5: rate 1: 'hourly' must be a number of at least 0, got '-5'",
        ),
        (
            "version: 1\ncurrency: EUR\nrates:\n  - when: {}\n    hourly: 9\n  - hourly: 1\n",
            "rates.yaml:6: rate 2: missing 'when'",
        ),
        (
            "version: 1\ncurrency: EUR\nrates:\n  - when: {}\n",
            "rates.yaml:4: rate 1: missing 'hourly'",
        ),
        (
            "version: 1\ncurrency: EUR\nrates:\n  - when: {projct.name: X}\n    hourly: 1\n",
            "rates.yaml:4: rate 1: unknown field 'projct.name' (did you mean 'project.name'?)",
        ),
        (
            "version: 1\ncurrency: EUR\nrates:\n  - when: {}\n    hourly: 1\n"
            "    from: 2026-10-01\n    until: 2026-09-30\n",
            "rates.yaml:7: rate 1: 'until' 2026-09-30 is before 'from' 2026-10-01",
        ),
        (
            "version: 1\ncurrency: EUR\nrates:\n  - when: {}\n    hourly: 1\n    from: 1.10.2026\n",
            "rates.yaml:6: rate 1: 'from' must be a date YYYY-MM-DD",
        ),
        (
            "version: 1\ncurrency: EUR\nrounding:\n  - when: {}\n    increment_minutes: 0\n",
            "rates.yaml:5: rounding 1: 'increment_minutes' must be a whole number of at least 1",
        ),
        (
            "version: 1\ncurrency: EUR\nrounding:\n  - when: {}\n    increment_minutes: 7.5\n",
            "rates.yaml:5: rounding 1: 'increment_minutes' must be a whole number of at least 1",
        ),
        (
            "version: 1\ncurrency: EUR\nsurcharges:\n  - when: {weekday: {in: [sat, sunday]}}\n"
            "    factor: 1.5\n",
            "rates.yaml:4: surcharge 1: weekday 'sunday' is not one of mon, tue, wed",
        ),
        (
            "version: 1\ncurrency: EUR\nsurcharges:\n  - when:\n      not: {localStartHour: 24}\n"
            "    factor: 1.5\n",
            "rates.yaml:5: surcharge 1: localStartHour '24' is not an hour from 0 to 23",
        ),
        (
            "version: 1\ncurrency: EUR\nsurcharges:\n  - when: {}\n    factor: 0\n",
            "rates.yaml:5: surcharge 1: 'factor' must be a positive number, got '0'",
        ),
        (
            "version: 1\ncurrency: EUR\nsurcharges:\n  - when: {}\n    factor: 2\n    factor: 3\n",
            "rates.yaml:6: surcharge 1: duplicate key 'factor' (first on line 5)",
        ),
        ("version: 1\ncurrency: [EUR\n", "rates.yaml:3: invalid YAML"),
    ],
)
def test_mistakes_are_one_located_error(text: str, error: str) -> None:
    with pytest.raises(RatesError) as caught:
        parse_rates(text, "rates.yaml")
    assert str(caught.value).startswith(error), str(caught.value)


def test_weekday_exists_takes_a_boolean() -> None:
    text = "version: 1\ncurrency: EUR\nsurcharges:\n  - when: {weekday: {exists: true}}\n"
    assert parse_rates(text + "    factor: 1.1\n").surcharges[0].factor == Decimal("1.1")


def test_an_unreadable_file_is_a_rates_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RatesError, match=r"nope.yaml: cannot read rates file"):
        load_rates(missing)
