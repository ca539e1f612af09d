"""Which budget an entry belongs to, and where it stands among the budget's entries (SPEC 6a):
start instants from the date of `startDateUtc` and the time `startTimeUtc`, retainer periods as
`[startDate, endDate)` instants, the order start, `createdOn`, id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workers.rules.budgets import (
    Budget,
    instant_of,
    iso,
    order_key,
    project_budgets,
    start_instant,
    ticks_of,
)

PROJECT = "5D9B8A41-2222-4D4B-9E7F-0D6A8C1B2A10"
HOUR = 3600


def entry(day: str, clock: str | None, **extra: Any) -> dict[str, Any]:
    return {"id": "e", "projectId": PROJECT, "startDateUtc": day, "startTimeUtc": clock, **extra}


def retainer(*months: tuple[str, str, int]) -> dict[str, Any]:
    budgets = [{"startDate": s, "endDate": e, "timeBudget": t} for s, e, t in months]
    return {"id": "r", "retainerBudgets": budgets}


NOVEMBER = ("2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z", 20 * HOUR)
DECEMBER = ("2026-11-30T23:00:00Z", "2026-12-31T23:00:00Z", 21 * HOUR)


def test_the_start_instant_is_the_date_of_start_date_utc_with_the_time_of_start_time_utc() -> None:
    found = start_instant(entry("2026-11-02T00:00:00Z", "13:08:51.8220632"))
    assert found == instant_of("2026-11-02T13:08:51.8220632Z")
    assert start_instant(entry("2026-11-02T00:00:00Z", None)) == instant_of("2026-11-02")
    assert start_instant(entry("not a date", "10:00:00")) is None
    assert start_instant({"startTimeUtc": "10:00:00"}) is None


def test_instants_keep_seven_digits_and_read_offsets() -> None:
    assert instant_of("2026-11-02T10:00:00.0000001Z") == instant_of("2026-11-02T10:00:00Z") + 1  # type: ignore[operator]
    assert instant_of("2026-11-02T11:00:00+01:00") == instant_of("2026-11-02T10:00:00Z")
    assert instant_of("2026-11-02T10:00:00") == instant_of("2026-11-02T10:00:00Z")  # naive: UTC
    assert iso(ticks_of(datetime(2026, 11, 2, 10, 0, tzinfo=UTC))) == "2026-11-02T10:00:00Z"
    assert instant_of(None) is None
    assert instant_of("2026-13-40") is None


def test_a_retainer_period_holds_its_start_but_not_its_end() -> None:
    budgets = project_budgets({"id": PROJECT, "timeBudget": None}, [retainer(NOVEMBER, DECEMBER)])
    first_instant = budgets.of(entry("2026-10-31T00:00:00Z", "23:00:00"))
    assert first_instant is not None
    assert first_instant.key.endswith("2026-10-31T23:00:00Z/2026-11-30T23:00:00Z")
    just_before = budgets.of(entry("2026-10-31T00:00:00Z", "22:59:59.9999999"))
    assert just_before is None  # October: no period, and the project has no budget of its own
    at_the_end = budgets.of(entry("2026-11-30T00:00:00Z", "23:00:00"))
    assert at_the_end is not None
    assert at_the_end.seconds == 21 * HOUR


def test_outside_every_period_the_projects_own_budget_applies() -> None:
    project = {"id": PROJECT, "timeBudget": 40 * HOUR, "deductNonBillableHours": True}
    budgets = project_budgets(project, [retainer(NOVEMBER)])
    own = budgets.of(entry("2026-09-15T00:00:00Z", "10:00:00"))
    assert own == Budget("project", PROJECT.lower(), 40 * HOUR, True)
    assert own is not None
    assert own.key == f"project:{PROJECT.lower()}"
    period = budgets.of(entry("2026-11-15T00:00:00Z", "10:00:00"))
    assert period is not None
    assert (period.kind, period.deduct_all) == ("retainer", True)
    assert [b.kind for b in budgets.all()] == ["retainer", "project"]


def test_no_time_budget_means_no_budget_of_its_own() -> None:
    for value in (None, 0, -5, "40", True):
        budgets = project_budgets({"id": PROJECT, "timeBudget": value})
        assert budgets.of(entry("2026-11-15T00:00:00Z", "10:00:00")) is None, value
        assert budgets.all() == ()


def test_periods_are_taken_by_start_and_the_first_one_wins_an_overlap() -> None:
    overlapping = ("2026-11-15T00:00:00Z", "2026-12-15T00:00:00Z", 5 * HOUR)
    budgets = project_budgets(
        {"id": PROJECT}, [retainer(DECEMBER), retainer(overlapping, NOVEMBER)]
    )
    found = budgets.of(entry("2026-11-20T00:00:00Z", "10:00:00"))
    assert found is not None
    assert found.seconds == 20 * HOUR
    assert [iso(b.start or 0)[:10] for b in budgets.periods] == [
        "2026-10-31",
        "2026-11-15",
        "2026-11-30",
    ]


def test_a_budget_is_named_for_people() -> None:
    budgets = project_budgets({"id": PROJECT, "timeBudget": HOUR}, [retainer(NOVEMBER)])
    assert [b.label for b in budgets.all()] == ["retainer 2026-11", "project budget"]


def test_entries_are_ordered_by_start_then_created_on_then_id() -> None:
    same_start = {"startDateUtc": "2026-11-02T00:00:00Z", "startTimeUtc": "10:00:00"}
    entries = [
        {"id": "c", **same_start, "createdOn": "2026-11-02T12:00:00Z"},
        {"id": "B", **same_start, "createdOn": "2026-11-02T11:00:00.5Z"},
        {"id": "a", **same_start, "createdOn": "2026-11-02T11:00:00.5000000Z"},
        {"id": "d", **same_start, "createdOn": "2026-11-02T11:00:00Z"},
        {"id": "e", "startDateUtc": "2026-11-01T00:00:00Z", "startTimeUtc": "23:00:00"},
        {"id": "f", **same_start},  # no createdOn: after those that have one
    ]
    assert [e["id"] for e in sorted(entries, key=order_key)] == ["e", "d", "a", "B", "c", "f"]
