"""Evaluating a budget's entries in order (SPEC 6a): each decision sees what the ones before it
used up.

`evaluate_budget(entries, budget, rules)` sorts the budget's entries (start, `createdOn`, id) and
evaluates them one by one. Before each, the entry gets its `budget` fields, which the rules read
like any other:

    budget.kind         "retainer" | "project"
    budget.seconds      the budget (a retainer period's `timeBudget` includes carry-over)
    budget.usedBefore   seconds counted by the entries before this one
    budget.within       usedBefore + own duration <= seconds (the entry crossing the line is over)
    budget.usedPercent  (usedBefore + own duration) / seconds * 100 (null when seconds <= 0)

After its decision an entry adds its own `duration` to the `usedBefore` of the later ones only
if it **counts**: never while its timer runs; always when the project deducts non-billable hours
(`deductNonBillableHours`); otherwise when it is billable after the rules' decision — an entry
the rules may not change (billed and no rule decides `billed`, a rule error) counts by its
current `isBillable`. `fixed` entries (closed by a month-end close, or read in an outdated
version) are not evaluated: they count by their current state.

Entries without a budget get the same fields, all null (`NO_BUDGET`). Pure, like the engine.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workers.rules.budgets import Budget, order_key
from workers.rules.engine import Evaluation, evaluate, is_running_timer
from workers.rules.model import Attribute, RuleSet

THRESHOLDS = (50, 75, 90, 100)
"""Percentages of a budget whose passing is recorded (audit, log)."""
NO_BUDGET: Mapping[str, None] = {
    "kind": None,
    "seconds": None,
    "usedBefore": None,
    "within": None,
    "usedPercent": None,
}
Result = Evaluation | Exception


@dataclass
class Use:
    """What a budget's evaluation found: seconds counted, entries within and over (running
    timers are in neither), and the entry at which each threshold was reached."""

    budget: Budget
    used: int = 0
    within: list[str] = field(default_factory=list)
    over: list[str] = field(default_factory=list)
    reached: dict[int, str] = field(default_factory=dict)

    @property
    def percent(self) -> float | None:
        return percent(self.used, self.budget.seconds)

    def add(self, entry_id: str, seconds: int) -> None:
        """Count `seconds` of `entry_id`; note the thresholds it reaches."""
        self.used += seconds
        for threshold in THRESHOLDS:
            reached = self.used * 100 >= threshold * self.budget.seconds
            if reached and threshold not in self.reached and self.budget.seconds > 0:
                self.reached[threshold] = entry_id


def evaluate_budget(
    entries: Sequence[dict[str, Any]],
    budget: Budget,
    rules: RuleSet,
    *,
    locked: Mapping[str, frozenset[Attribute]] | None = None,
    fixed: Collection[str] = frozenset(),
) -> tuple[dict[str, Result], Use]:
    """The rules' verdict on each of the budget's `entries` but the `fixed` ones, by entry id,
    and the budget's use (module docstring). Sets each entry's `budget` fields (in place)."""
    locked = locked or {}
    use = Use(budget)
    results: dict[str, Result] = {}
    for entry in sorted(entries, key=order_key):
        entry_id = str(entry.get("id"))
        own = own_seconds(entry)
        entry["budget"] = fields_at(budget, use.used, own)
        result: Result | None = None
        if entry_id not in fixed:
            result = _evaluated(entry, rules, locked.get(entry_id, frozenset()))
            results[entry_id] = result
        if is_running_timer(entry):
            continue
        (use.within if entry["budget"]["within"] else use.over).append(entry_id)
        if budget.deduct_all or billable_after(entry, result):
            use.add(entry_id, own)
    return results, use


def fields_at(budget: Budget, used_before: int, own: int) -> dict[str, Any]:
    """An entry's `budget` fields, `used_before` seconds counted before it."""
    return {
        "kind": budget.kind,
        "seconds": budget.seconds,
        "usedBefore": used_before,
        "within": used_before + own <= budget.seconds,
        "usedPercent": percent(used_before + own, budget.seconds),
    }


def percent(used: int, seconds: int) -> float | None:
    return used * 100 / seconds if seconds > 0 else None


def own_seconds(entry: Mapping[str, Any]) -> int:
    """The entry's own `duration` in seconds (0 when missing or not a positive number)."""
    value = entry.get("duration")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return 0
    return int(value)


def billable_after(entry: Mapping[str, Any], result: Result | None) -> bool:
    """Whether the entry is billable once the rules' decision is made: the decided `billable`,
    else its current `isBillable` (also when the rules may not change it, or failed)."""
    current = entry.get("isBillable") is True
    if result is None or isinstance(result, Exception) or result.skipped:
        return current
    decided = next((d.value for d in result.decisions if d.attribute == "billable"), None)
    return current if decided is None else decided is True


def _evaluated(entry: dict[str, Any], rules: RuleSet, locked: frozenset[Attribute]) -> Result:
    try:
        return evaluate(entry, rules, locked=locked)
    except Exception as e:  # a rule must never stop the budget: the entry keeps its state
        return e
