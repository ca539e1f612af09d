"""What the rules still want of a workspace held in memory — the sandbox's, for the demo's
"converged" and the end-to-end tests: the changes `plan` finds, with each budget's entries
evaluated in order as the workers do (`workers.rules.ordered`) when the rules read `budget.*`.

The budgets come from the sandbox's own model of awork (`service.sandbox.budgets`: projects'
`timeBudget`, retainers' monthly budgets), not from the workers' reads — an independent look
at the end state. The workspace data rules may read beyond the entry (tags, custom fields) is
not added: rules that need it are checked against the sandbox's records instead.
"""

from __future__ import annotations

from typing import Any

from service.sandbox import Workspace
from service.sandbox import budgets as sandbox_budgets
from workers.apply import budgets
from workers.rules.budgets import Budget, ProjectBudgets, project_budgets, project_of
from workers.rules.engine import Change, Evaluation, plan
from workers.rules.model import RuleSet
from workers.rules.ordered import NO_BUDGET, Use, evaluate_budget


def wanted_changes(ws: Workspace, rules: RuleSet) -> list[Change]:
    """Every change the rules want of `ws`'s entries (empty: converged)."""
    entries = [dict(e) for e in ws.entries.values()]  # copies: the budget fields stay here
    if not budgets.wanted(rules):
        return [c for entry in entries for c in plan(entry, rules)]
    grouped, loose = _grouped(entries, budgets_of(ws))
    changes: list[Change] = []
    for budget, members in grouped.values():
        results, _ = evaluate_budget(members, budget, rules)
        changes += [c for r in results.values() if isinstance(r, Evaluation) for c in r.changes]
    for entry in loose:
        entry["budget"] = dict(NO_BUDGET)
        changes += plan(entry, rules)
    return changes


def budget_uses(ws: Workspace, rules: RuleSet) -> dict[str, Use]:
    """Each budget's use once the rules have decided, by budget key."""
    entries = [dict(e) for e in ws.entries.values()]
    grouped, _ = _grouped(entries, budgets_of(ws))
    return {key: evaluate_budget(m, b, rules)[1] for key, (b, m) in grouped.items()}


def budgets_of(ws: Workspace) -> dict[str, ProjectBudgets]:
    """The budgets of every project of `ws`, by project id, as the sandbox serves them."""
    return {
        project_id.lower(): project_budgets(
            project,
            [
                sandbox_budgets.retainer_view(ws, r)
                for r in sandbox_budgets.retainers_of(ws, project_id)
            ],
        )
        for project_id, project in ws.projects.items()
    }


def _grouped(
    entries: list[dict[str, Any]], projects: dict[str, ProjectBudgets]
) -> tuple[dict[str, tuple[Budget, list[dict[str, Any]]]], list[dict[str, Any]]]:
    grouped: dict[str, tuple[Budget, list[dict[str, Any]]]] = {}
    loose = []
    for entry in entries:
        project = project_of(entry)
        budget = projects[project].of(entry) if project in projects else None
        if budget is None:
            loose.append(entry)
        else:
            grouped.setdefault(budget.key, (budget, []))[1].append(entry)
    return grouped, loose
