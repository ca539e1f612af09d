"""The rules engine: one time entry and a `RuleSet` in, decisions and changes out. No I/O.

`entry` is a time entry as awork's `GET /timeentries/{id}` (or a webhook's `entity`) returns it.
`evaluate` works in four steps:

1. **Running timer** (`is_running_timer`): nothing is decided or changed until it stops.
2. **Decide**: rules are tried in file order; for each attribute the first matching rule that
   sets it decides, and later rules cannot override it. `locked` attributes (changed by hand by a
   person, when `respect_manual_changes` is on) are left out: no rule decides them, so they get
   no `Decision` and no `Change`, and the entry's own value stands.
3. **Consistency**: a `billed: true` decision is dropped when the entry ends up unbillable (by a
   decision or its current `isBillable: false`): awork clears `isBilled` on unbillable entries,
   so such a pair can only come from two different rules overlapping.
4. **Billed safety**: an entry with `isBilled: true` is changed only if a rule decides `billed`
   for it; otherwise the evaluation is skipped as "billed" (its decisions are still listed, for
   explanations and simulations, but `changes` is empty).

A `Change` is made only where the entry's current value differs from the decision (type-of-work
ids compare case-insensitively). Changes are ordered billable, billed, type_of_work. Evaluating
never raises on odd entries; it raises `RulesError` only when the rule set still names a type of
work that was never resolved (`RuleSet.resolve_types`) — a programming error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from workers.rules.fields import ABSENT, Absent, Getter, getter
from workers.rules.model import ATTRIBUTES, Attribute, RulesError, RuleSet

__all__ = [
    "ABSENT",
    "Absent",
    "Attribute",
    "Change",
    "Decision",
    "Evaluation",
    "evaluate",
    "field_value",
    "is_running_timer",
    "plan",
]

_ENTRY_FIELDS: Final[Mapping[Attribute, str]] = {
    "billable": "isBillable",
    "billed": "isBilled",
    "type_of_work": "typeOfWorkId",
}
_NOT_LOCKED: Final[frozenset[Attribute]] = frozenset()


@dataclass(frozen=True)
class Decision:
    """What the first matching rule that sets `attribute` decided for it."""

    attribute: Attribute
    value: bool | str
    rule: str


@dataclass(frozen=True)
class Change:
    """One attribute of one entry to write: `old` is the entry's value (None if missing)."""

    entry_id: str
    attribute: Attribute
    old: bool | str | None
    new: bool | str
    rule: str


@dataclass(frozen=True)
class Evaluation:
    """The outcome for one entry.

    `skipped` says why nothing changes when a safety rule stopped it: "running-timer" (nothing
    was decided) or "billed" (billed entry and no matching rule decides `billed`); None otherwise,
    including when every decision already holds.
    """

    entry_id: str
    decisions: tuple[Decision, ...]
    changes: tuple[Change, ...]
    skipped: str | None


def evaluate(
    entry: Mapping[str, Any], rules: RuleSet, *, locked: frozenset[Attribute] = _NOT_LOCKED
) -> Evaluation:
    """Decide the billing attributes of `entry` and the changes to make (see module docstring)."""
    if (pending := rules.unresolved) is not None:
        message = "type of work names are not resolved; call RuleSet.resolve_types() first"
        raise RulesError(message, rules.source, pending.line, pending.name)
    entry_id = _entry_id(entry)
    if is_running_timer(entry):
        return Evaluation(entry_id, (), (), "running-timer")
    decided = _decide(entry, rules, locked)
    _drop_billed_if_unbillable(entry, decided)
    decisions = tuple(decided[a] for a in ATTRIBUTES if a in decided)
    if entry.get("isBilled") is True and "billed" not in decided:
        return Evaluation(entry_id, decisions, (), "billed")
    changes = tuple(_change(entry_id, entry, d) for d in decisions if _differs(entry, d))
    return Evaluation(entry_id, decisions, changes, None)


def plan(entry: Mapping[str, Any], rules: RuleSet) -> list[Change]:
    """The changes `evaluate` would make to `entry` (no attribute locked)."""
    return list(evaluate(entry, rules).changes)


def is_running_timer(entry: Mapping[str, Any]) -> bool:
    """Whether `entry` is a timer still running: no end and no duration.

    No end: `endDateUtc` and `endTimeUtc` both absent or null. No duration: `duration` absent,
    null, 0 or anything but a positive number. A finished entry may carry only a start and a
    duration (SPEC 7.1), so a duration alone means finished.
    """
    if entry.get("endDateUtc") is not None or entry.get("endTimeUtc") is not None:
        return False
    duration = entry.get("duration")
    return not ((type(duration) is int or type(duration) is float) and duration > 0)


def field_value(entry: Mapping[str, Any], path: str) -> Any | Absent:
    """The value at dotted `path` in `entry` as rules see it (aliases applied), or `ABSENT`."""
    return _getter(path)(entry)


@lru_cache(maxsize=512)
def _getter(path: str) -> Getter:
    return getter(path)


def _entry_id(entry: Mapping[str, Any]) -> str:
    value = entry.get("id")
    return "" if value is None else str(value)


def _decide(
    entry: Mapping[str, Any], rules: RuleSet, locked: frozenset[Attribute]
) -> dict[Attribute, Decision]:
    open_ = frozenset(ATTRIBUTES) - locked
    decided: dict[Attribute, Decision] = {}
    for rule in rules.rules:
        wanted = rule.then.attributes & open_
        # Skipping rules that can no longer decide anything is safe: conditions are pure.
        if not wanted or not rule.when.test(entry):
            continue
        for attribute in wanted:
            decided[attribute] = Decision(attribute, rule.then.values[attribute], rule.name)
        open_ -= wanted
        if not open_:
            break
    return decided


def _drop_billed_if_unbillable(
    entry: Mapping[str, Any], decided: dict[Attribute, Decision]
) -> None:
    billed = decided.get("billed")
    if billed is None or billed.value is not True:
        return
    billable = decided.get("billable")
    if (entry.get("isBillable") if billable is None else billable.value) is False:
        del decided["billed"]


def _differs(entry: Mapping[str, Any], decision: Decision) -> bool:
    current = entry.get(_ENTRY_FIELDS[decision.attribute])
    if decision.attribute == "type_of_work":
        return not (isinstance(current, str) and current.lower() == decision.value)
    return current is not decision.value


def _change(entry_id: str, entry: Mapping[str, Any], decision: Decision) -> Change:
    current = entry.get(_ENTRY_FIELDS[decision.attribute])
    old = current if isinstance(current, (bool, str)) else None
    return Change(entry_id, decision.attribute, old, decision.value, decision.rule)
