"""A budget's entries decided in order (SPEC 6a, issue 13): each entry's `within` counts its own
duration in full; after its decision it adds to the entries after it only if it counts."""

from __future__ import annotations

from typing import Any

import pytest

from workers.rules import parse_rules
from workers.rules.budgets import Budget
from workers.rules.model import RuleSet
from workers.rules.ordered import THRESHOLDS, evaluate_budget, fields_at

HOUR = 3600
PROJECT = "5d9b8a41-2222-4d4b-9e7f-0d6a8c1b2a10"
RETAINER = Budget("retainer", PROJECT, 10 * HOUR, False, 0, 10**18)
OWN = Budget("project", PROJECT, 10 * HOUR, False)

# within: billed; over: not billed — both directions, so an entry can come back within
MARK = parse_rules("""
version: 1
rules:
  - name: over
    when: {budget.within: false}
    then: {billed: false}
  - name: within
    when: {budget.within: true}
    then: {billed: true}
""")
# over a project budget: unbillable (an unbillable entry stops counting)
UNBILLABLE = parse_rules("""
version: 1
rules:
  - name: over-is-unbillable
    when: {budget.within: false}
    then: {billable: false}
""")


def entry(name: str, day: int, hours: float, **extra: Any) -> dict[str, Any]:
    """A finished, billable entry starting on November `day` at 09:00 UTC."""
    return {
        "id": name,
        "startDateUtc": f"2026-11-{day:02d}T00:00:00Z",
        "startTimeUtc": "09:00:00",
        "duration": int(hours * HOUR),
        "isBillable": True,
        "isBilled": False,
        **extra,
    }


def within(
    entries: list[dict[str, Any]], rules: RuleSet = MARK, budget: Budget = RETAINER
) -> dict[str, bool]:
    """Each entry's `budget.within`, after an evaluation in order."""
    evaluate_budget(entries, budget, rules)
    return {e["id"]: e["budget"]["within"] for e in entries}


def fourteen_hours() -> list[dict[str, Any]]:
    hours = [2, 2, 2, 2, 2, 1, 1, 2]  # 10 h, then 4 h more
    return [entry(f"e{i}", i + 1, h) for i, h in enumerate(hours)]


def test_a_ten_hour_month_with_fourteen_hours_puts_exactly_the_entries_past_ten_hours_over() -> (
    None
):
    entries = fourteen_hours()
    results, use = evaluate_budget(list(reversed(entries)), RETAINER, MARK)  # order is by start
    assert use.within == ["e0", "e1", "e2", "e3", "e4"]
    assert use.over == ["e5", "e6", "e7"]
    assert use.used == 14 * HOUR
    billed = {
        i: {c.attribute: c.new for c in r.changes}
        for i, r in results.items()
        if not isinstance(r, Exception)
    }
    assert billed["e4"] == {"billed": True}
    assert billed["e5"] == {}  # over: not billed, and it is not
    used_before = [e["budget"]["usedBefore"] for e in entries]
    assert used_before == [h * HOUR for h in (0, 2, 4, 6, 8, 10, 11, 12)]
    assert [e["budget"]["usedPercent"] for e in entries][-1] == 140.0


def test_after_an_early_two_hour_entry_is_deleted_the_next_two_come_back_within() -> None:
    entries = fourteen_hours()
    del entries[1]
    assert within(entries) == {
        "e0": True,
        "e2": True,
        "e3": True,
        "e4": True,
        "e5": True,
        "e6": True,
        "e7": False,
    }


def test_a_back_dated_entry_shifts_the_later_ones() -> None:
    entries = [entry("a", 10, 4), entry("b", 12, 4), entry("c", 14, 2)]
    assert within(entries) == {"a": True, "b": True, "c": True}
    entries.append(entry("early", 2, 3))
    assert within(entries) == {"early": True, "a": True, "b": False, "c": False}


def test_the_entry_that_crosses_the_line_is_over_and_one_that_fills_it_is_within() -> None:
    crossing = [entry("a", 1, 9), entry("b", 2, 2)]
    assert within(crossing) == {"a": True, "b": False}
    filling = [entry("a", 1, 9), entry("b", 2, 1)]
    assert within(filling) == {"a": True, "b": True}
    assert filling[1]["budget"]["usedPercent"] == 100.0


def test_without_deducting_non_billable_hours_an_unbillable_entry_does_not_count() -> None:
    entries = [entry("a", 1, 6), entry("b", 2, 6, isBillable=False), entry("c", 3, 4)]
    assert within(entries) == {"a": True, "b": False, "c": True}  # b: 6 + 6 > 10, but c: 6 + 4
    _, use = evaluate_budget(entries, RETAINER, MARK)
    assert use.used == 10 * HOUR
    deducting = Budget("retainer", PROJECT, 10 * HOUR, True, 0, 10**18)
    assert within(entries, budget=deducting) == {"a": True, "b": False, "c": False}
    _, use = evaluate_budget(entries, deducting, MARK)
    assert use.used == 16 * HOUR


def test_an_entry_made_unbillable_by_the_rules_stops_counting_for_the_later_ones() -> None:
    entries = [entry("a", 1, 8), entry("b", 2, 3), entry("c", 3, 2), entry("d", 4, 1)]
    results, use = evaluate_budget(entries, OWN, UNBILLABLE)
    assert within(entries, UNBILLABLE, OWN) == {"a": True, "b": False, "c": True, "d": False}
    changed = sorted(i for i, r in results.items() if not isinstance(r, Exception) and r.changes)
    assert changed == ["b", "d"]
    assert use.used == 10 * HOUR


def test_a_project_budget_works_like_a_month_without_end() -> None:
    entries = [entry("a", 1, 6), entry("b", 20, 6)]
    _, use = evaluate_budget(entries, OWN, MARK)
    assert [e["budget"]["kind"] for e in entries] == ["project", "project"]
    assert (use.within, use.over) == (["a"], ["b"])


def test_running_timers_never_count_and_are_in_neither_list() -> None:
    timer = entry("timer", 1, 0, endDateUtc=None, endTimeUtc=None)
    entries = [timer, entry("a", 2, 10)]
    results, use = evaluate_budget(entries, RETAINER, MARK)
    assert (use.within, use.over, use.used) == (["a"], [], 10 * HOUR)
    assert not isinstance(results["timer"], Exception)
    assert results["timer"].skipped == "running-timer"


def test_a_billed_entry_the_rules_may_not_change_counts_by_its_current_billability() -> None:
    rules = parse_rules("""
version: 1
rules:
  - name: over-is-unbillable
    when: {budget.within: false}
    then: {billable: false}
""")
    entries = [entry("a", 1, 8), entry("billed", 2, 3, isBilled=True), entry("c", 3, 1)]
    results, use = evaluate_budget(entries, OWN, rules)
    assert not isinstance(results["billed"], Exception)
    assert results["billed"].skipped == "billed"
    assert entries[2]["budget"]["usedBefore"] == 11 * HOUR  # the billed one counted
    assert use.over == ["billed", "c"]


def test_fixed_entries_are_not_decided_and_count_as_they_are() -> None:
    entries = [entry("closed", 1, 9, isBillable=False), entry("a", 2, 2)]
    results, use = evaluate_budget(entries, RETAINER, MARK, fixed={"closed"})
    assert set(results) == {"a"}
    assert use.used == 2 * HOUR  # the closed entry is unbillable: it does not count
    assert entries[1]["budget"]["within"] is True


def test_a_rule_error_leaves_the_entry_counting_as_it_is() -> None:
    rules = parse_rules("""
version: 1
rules:
  - name: needs-a-name
    when: {budget.within: false}
    then: {type_of_work: {name: "Overage"}}
""")  # never resolved: evaluating raises
    entries = [entry("a", 1, 11)]
    results, use = evaluate_budget(entries, RETAINER, rules)
    assert isinstance(results["a"], Exception)
    assert use.used == 11 * HOUR


def test_locked_attributes_are_not_decided_and_the_entry_counts_by_its_own_value() -> None:
    entries = [entry("a", 1, 11), entry("b", 2, 1)]
    results, _ = evaluate_budget(entries, OWN, UNBILLABLE, locked={"a": frozenset({"billable"})})
    assert not isinstance(results["a"], Exception)
    assert results["a"].changes == ()
    assert entries[1]["budget"]["usedBefore"] == 11 * HOUR


@pytest.mark.parametrize(
    ("hours", "reached"),
    [(4, []), (5, [50]), (8.5, [50, 75]), (9, [50, 75, 90]), (10, [50, 75, 90, 100])],
)
def test_each_threshold_names_the_entry_that_reached_it(hours: float, reached: list[int]) -> None:
    entries = (
        [entry("half", 1, 5), entry("rest", 2, hours - 5)]
        if hours > 5
        else [entry("half", 1, hours)]
    )
    _, use = evaluate_budget(entries, RETAINER, MARK)
    assert sorted(use.reached) == reached
    assert set(use.reached) <= set(THRESHOLDS)
    if 50 in use.reached:
        assert use.reached[50] == "half"


def test_used_percent_is_null_for_a_budget_of_no_seconds() -> None:
    empty = Budget("retainer", PROJECT, 0, False, 0, 1)
    assert fields_at(empty, 0, 60) == {
        "kind": "retainer",
        "seconds": 0,
        "usedBefore": 0,
        "within": False,
        "usedPercent": None,
    }
