"""What a simulation found: per rule, the entries it decides and the changes it would make; the
entries left alone and why; rule errors; sample changes with readable values (a type of work by
its name, where the rules or the entries say it); and, when the rules read `budget.*`, each
budget with its seconds, the seconds used and the entries within and over it (`budgetview`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workers.cli.budgetview import BudgetView
from workers.cli.period import Period
from workers.cli.tables import counted, table
from workers.rules.engine import Change, Evaluation
from workers.rules.model import ATTRIBUTES, RuleSet

SKIPPED = {"running-timer": "running timers", "billed": "billed entries"}


@dataclass(frozen=True)
class Sample:
    """One change a simulation would make, with the entry's day and project for context."""

    entry: str
    date: str
    project: str
    rule: str
    attribute: str
    old: bool | str | None
    new: bool | str
    old_label: str
    new_label: str


class Findings:
    """Accumulates evaluations (`add`) into a report (`as_dict` for JSON, `lines` for people)."""

    def __init__(
        self, rules: RuleSet, rules_file: str, *, samples: int, period: Period | None
    ) -> None:
        self.rules_file = rules_file
        self.period = period
        self.sample_limit = samples
        self.sets = {rule.name: rule.then.attributes for rule in rules.rules}
        self.entries = 0
        self.changed_entries = 0
        self.skipped: Counter[str] = Counter()
        self.decided: Counter[str] = Counter()
        self.changes: Counter[tuple[str, str]] = Counter()
        self.errors: list[dict[str, str]] = []
        self.samples: list[Sample] = []
        self.type_names: dict[str, str] = {}
        self.budgets = BudgetView(samples)
        self.use_names(rules)

    def use_names(self, rules: RuleSet) -> None:
        """Learn type-of-work names from rules resolved against awork."""
        for rule in rules.rules:
            action = rule.then.type_of_work
            if action is not None and action.id and action.name:
                self.type_names[action.id] = action.name

    def add(
        self, entries: Sequence[dict[str, Any]], evaluations: Sequence[Evaluation | Exception]
    ) -> None:
        """Count one batch of entries and their evaluations."""
        for entry, evaluation in zip(entries, evaluations, strict=True):
            self.entries += 1
            self._learn_type(entry)
            if isinstance(evaluation, Exception):
                self.errors.append({"entry": str(entry.get("id")), "error": repr(evaluation)})
                continue
            if evaluation.skipped:
                self.skipped[evaluation.skipped] += 1
            self.decided.update({d.rule for d in evaluation.decisions})
            self.changed_entries += bool(evaluation.changes)
            for change in evaluation.changes:
                self.changes[(change.rule, change.attribute)] += 1
                if len(self.samples) < self.sample_limit:
                    self.samples.append(self._sample(entry, change))

    def as_dict(self) -> dict[str, Any]:
        """The findings as JSON-ready data."""
        return {
            "rules_file": self.rules_file,
            "source": "awork" if self.period else "file",
            "period": self.period.describe() if self.period else None,
            "entries": self.entries,
            "changed_entries": self.changed_entries,
            "changes": sum(self.changes.values()),
            "skipped": dict(sorted(self.skipped.items())),
            "rule_errors": len(self.errors),
            "errors": self.errors[: max(self.sample_limit, 1)],
            "rules": [self._rule(name) for name in self.sets],
            "samples": [asdict(s) for s in self.samples],
            "budgets": self.budgets.as_list(),
            "writes": 0,
        }

    def lines(self) -> list[str]:
        """The findings as text: a per-rule table, a summary line, sample changes."""
        where = f"awork, {self.period.describe()}" if self.period else "file"
        rules = f"{len(self.sets)} rule{'' if len(self.sets) == 1 else 's'}"
        out = [
            f"Simulated {self.rules_file} ({rules}) on {counted(self.entries, 'entry', 'entries')} "
            f"from {where}. Read-only: nothing was written.",
            "",
        ]
        rows = [
            {"rule": name, "decides": self.decided[name], **self._cells(name)} for name in self.sets
        ]
        out += table(rows, ["rule", "decides", *ATTRIBUTES])
        out += ["", self._summary()]
        out += [f"rule error on entry {e['entry']}: {e['error']}" for e in self.errors[:5]]
        if self.samples:
            total = sum(self.changes.values())
            out += ["", f"Sample changes ({len(self.samples)} of {total}):"]
            rows = [
                {**asdict(s), "change": f"{s.old_label} -> {s.new_label}"} for s in self.samples
            ]
            columns = ["entry", "date", "project", "rule", "attribute", "change"]
            out += table(rows, columns, max_width=36)
        if self.budgets:
            out += self.budgets.lines()
        return out

    def _summary(self) -> str:
        left = ", ".join(f"{n} {SKIPPED.get(k, k)}" for k, n in sorted(self.skipped.items()))
        return (
            f"{self.changed_entries} of {counted(self.entries, 'entry', 'entries')} would change "
            f"({counted(sum(self.changes.values()), 'change')}); left alone: {left or 'none'}; "
            f"{counted(len(self.errors), 'rule error')}."
        )

    def _rule(self, name: str) -> dict[str, Any]:
        changes = {a: self.changes[(name, a)] for a in ATTRIBUTES if a in self.sets[name]}
        return {"name": name, "decides": self.decided[name], "changes": changes}

    def _cells(self, name: str) -> dict[str, int | str]:
        return {a: self.changes[(name, a)] if a in self.sets[name] else "-" for a in ATTRIBUTES}

    def _sample(self, entry: dict[str, Any], change: Change) -> Sample:
        project = entry.get("project")
        return Sample(
            entry=change.entry_id,
            date=str(entry.get("startDateLocal") or entry.get("startDateUtc") or "")[:10],
            project=str(project.get("name") or "") if isinstance(project, dict) else "",
            rule=change.rule,
            attribute=change.attribute,
            old=change.old,
            new=change.new,
            old_label=self._label(change.attribute, change.old),
            new_label=self._label(change.attribute, change.new),
        )

    def _label(self, attribute: str, value: bool | str | None) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if attribute == "type_of_work":
            return self.type_names.get(value.lower(), value)
        return value

    def _learn_type(self, entry: dict[str, Any]) -> None:
        nested = entry.get("typeOfWork")
        if isinstance(nested, dict) and nested.get("id") and nested.get("name"):
            self.type_names.setdefault(str(nested["id"]).lower(), str(nested["name"]))
