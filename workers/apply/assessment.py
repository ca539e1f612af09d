"""The rules' verdicts on a scope of entries: each budget's entries in order, the rest one by one.

No I/O: the workspace data and the budgets' entries are loaded before (`Workspace.enrich`,
`Budgets.widen`). What failed for one entry — a read awork refused, a rule error — is its
result instead of an evaluation, never raised.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.apply.budgets import Scope
from workers.rules.budgets import project_of
from workers.rules.engine import Evaluation, evaluate
from workers.rules.model import Attribute, RuleSet
from workers.rules.ordered import NO_BUDGET, Use, evaluate_budget

Result = Evaluation | Exception


@dataclass
class Assessment:
    """Each entry's result by id, each budget's use, and the scope they come from."""

    scope: Scope
    results: dict[str, Result] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)

    def of(self, entry: Mapping[str, Any]) -> Result:
        return self.results[str(entry.get("id"))]

    def names(self) -> dict[str, str]:
        """Project names by id, as the scope's entries carry them (for logs and reports)."""
        return {
            project: str(entry["project"].get("name") or "")
            for entry in self.scope.entries()
            if (project := project_of(entry)) and isinstance(entry.get("project"), dict)
        }

    def by_id(self) -> dict[str, dict[str, Any]]:
        """The scope's entries by id."""
        return {str(e.get("id")): e for e in self.scope.entries()}


def assess(
    scope: Scope,
    rules: RuleSet,
    *,
    locked: Mapping[str, frozenset[Attribute]],
    fixed: Collection[str] = frozenset(),
    failed: Mapping[str, Exception],
    budgets: bool,
) -> Assessment:
    """Evaluate `scope` (module docstring). `budgets`: the rules read `budget.*`, so entries
    outside any budget get its fields too (all null). `fixed` entries are not evaluated; in a
    budget they count by their current state, like those that `failed`."""
    broken = {**failed, **scope.failed}
    assessment = Assessment(scope, results=dict(broken))
    # an entry whose data could not be loaded keeps its state: it counts as it is
    kept = {*fixed, *broken}
    for budget, members in scope.budgets.values():
        results, use = evaluate_budget(members, budget, rules, locked=locked, fixed=kept)
        assessment.results.update(results)
        assessment.uses.append(use)
    for entry in scope.loose:
        entry_id = str(entry.get("id"))
        if budgets:
            entry["budget"] = dict(NO_BUDGET)
        if entry_id not in broken and entry_id not in fixed:
            assessment.results[entry_id] = _evaluated(entry, rules, locked.get(entry_id))
    return assessment


def _evaluated(
    entry: dict[str, Any], rules: RuleSet, locked: frozenset[Attribute] | None
) -> Result:
    try:
        return evaluate(entry, rules, locked=locked or frozenset())
    except Exception as e:  # a rule must never stop the batch
        return e
