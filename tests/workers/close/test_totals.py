"""The summary's sums: per company, project and type of work, then the total."""

from __future__ import annotations

from decimal import Decimal

from workers.close.lines import Line
from workers.close.totals import summary_rows


def line(project: str, amount: str | None) -> Line:
    return Line(
        entry_id=f"e-{project}-{amount}",
        date="2026-10-05",
        user="Anna Becker",
        company="Nordlicht Brauerei GmbH",
        project=project,
        task="",
        type_of_work="Development",
        note="Checkout",
        seconds=3600,
        billed_minutes=Decimal("60.00"),
        rate=None if amount is None else Decimal("120"),
        surcharge=None if amount is None else Decimal("1"),
        amount=None if amount is None else Decimal(amount),
        currency="EUR",
    )


def test_a_group_without_a_rate_has_no_amount_and_the_total_sums_the_priced() -> None:
    rows = summary_rows([line("Webshop", "120.00"), line("Support", None)], "EUR")
    company = "Nordlicht Brauerei GmbH"
    assert rows == [
        [company, "Support", "Development", "1", "3600", "60.00", "", "EUR"],
        [company, "Webshop", "Development", "1", "3600", "60.00", "120.00", "EUR"],
        ["TOTAL", "", "", "2", "7200", "120.00", "120.00", "EUR"],
    ]


def test_without_rates_there_are_no_amounts_at_all() -> None:
    rows = summary_rows([line("Support", None)], None)
    assert [row[-2:] for row in rows] == [["", ""], ["", ""]]
