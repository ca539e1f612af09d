"""Budget-aware evaluation's I/O: which budgets a batch touches, and all their entries, in bulk.

A budget's decisions depend on the decisions before them (`workers.rules.ordered`), so when any
entry of a budget is in hand, the whole budget is evaluated, in order, and only the entries whose
decision differs from what awork holds are written. `Budgets.widen` finds what to evaluate:

1. the budgets touched: the current budget of each entry in hand; the budget each was in when
   last evaluated (it may have moved out: another project, another month; `BudgetRecords`
   remembers memberships); that of each entry deleted (`departed`); and budgets named
   outright (`touched`: the sweep found the budget itself changed);
2. their entries, one listing per project (`projectId eq guid'…'`, narrowed to the touched
   retainer periods' days when no project budget is touched; 1000 a page, stopping at awork's
   total): a 1,000-entry retainer month is one read. A project whose entries are all in hand
   already (`complete`: a project change read them) needs no read at all;
3. the entries in hand stay as they were read (the version decided on); deleted ones are left
   out even when a lagging listing still shows them.

Rules that read no `budget.*` field need none of this (`wanted`). The budgets themselves (a
project's `timeBudget`, retainer periods) come from `BudgetData`, cached.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from workers.apply.budgetdata import BudgetData
from workers.apply.budgetrecords import BudgetRecords, project_of_key
from workers.awork import filterby
from workers.awork.client import AworkClient
from workers.awork.concurrency import gather_limited
from workers.awork.errors import AworkRejected
from workers.rules.budgets import Budget, ProjectBudgets, iso, project_of
from workers.rules.model import RuleSet


def wanted(rules: RuleSet) -> bool:
    """Whether `rules` read a budget field (`budget.kind`, `budget.within`, …)."""
    return any(f.startswith("budget.") for f in rules.fields())


@dataclass
class Scope:
    """What to evaluate: each touched budget with all its entries, the other entries in hand
    (`loose`: no budget), and the entries in hand a refused read leaves undecidable."""

    budgets: dict[str, tuple[Budget, list[dict[str, Any]]]] = field(default_factory=dict)
    loose: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[str, Exception] = field(default_factory=dict)
    projects: dict[str, ProjectBudgets] = field(default_factory=dict)

    @classmethod
    def without_budgets(cls, entries: Sequence[dict[str, Any]]) -> Scope:
        return cls(loose=list(entries))

    def entries(self) -> list[dict[str, Any]]:
        """Every entry of the scope, each once."""
        members = [e for _, entries in self.budgets.values() for e in entries]
        return members + self.loose


class Budgets:
    """Finding the budgets a batch touches and reading their entries (module docstring)."""

    def __init__(self, client: AworkClient, data: BudgetData, records: BudgetRecords) -> None:
        self._client = client
        self.data = data
        self.records = records

    async def widen(
        self,
        entries: Sequence[dict[str, Any]],
        *,
        departed: Collection[str] = (),
        touched: Collection[str] = (),
        complete: Collection[str] = (),
    ) -> Scope:
        """The scope of `entries` (module docstring). `complete`: project ids whose every entry
        is among `entries`."""
        given = {str(e["id"]): e for e in entries if e.get("id")}
        before = await self.records.memberships([*given, *departed])
        keys = {*before.values(), *touched}
        projects = {p for e in given.values() if (p := project_of(e))}
        projects |= {project_of_key(k) for k in keys}
        scope = Scope()
        scope.projects, refused = await self.data.load(projects)
        chosen = self._chosen(scope, given, keys, refused)
        reads = _reads(chosen, {p.lower() for p in complete})
        listed = await self._listed(reads, given, refused, scope)
        gone = set(departed)
        for budget in chosen.values():
            if budget.project in refused:  # its listing was refused: it cannot be evaluated
                continue
            found = {i: e for i, e in listed.get(budget.project, {}).items() if i not in gone}
            candidates = {**found, **_of_project(given, budget.project)}
            members = [e for e in candidates.values() if _belongs(scope, e, budget)]
            scope.budgets[budget.key] = (budget, members)
        placed = {str(e["id"]) for _, members in scope.budgets.values() for e in members}
        scope.loose = [e for i, e in given.items() if i not in scope.failed and i not in placed]
        return scope

    async def changes(self) -> tuple[list[str], list[str]]:
        """The budgets evaluated before whose figures changed (seconds, whether non-billable
        hours count) or that appeared since (a new month of a retainer), and those that are
        gone — from projects and retainers read afresh (the reconciliation sweep)."""
        records = await self.records.all()
        by_project: dict[str, list[str]] = {}
        for key in records:
            by_project.setdefault(project_of_key(key), []).append(key)
        current, refused = await self.data.load(by_project, fresh=True)
        changed: list[str] = []
        gone: list[str] = []
        for project, keys in by_project.items():
            if project in refused:  # cannot tell: leave its budgets as they are
                continue
            known = current.get(project)
            now = {b.key: b for b in known.all()} if known else {}
            changed += [k for k, b in now.items() if _differs(records.get(k), b)]
            gone += [k for k in keys if k not in now]
        return sorted(changed), sorted(gone)

    def _chosen(
        self,
        scope: Scope,
        given: dict[str, dict[str, Any]],
        keys: set[str],
        refused: dict[str, AworkRejected],
    ) -> dict[str, Budget]:
        """The budgets to evaluate: those of the entries in hand, and those of `keys` that
        still exist. Entries of projects whose budgets awork refused to show fail."""
        chosen: dict[str, Budget] = {}
        for entry_id, entry in given.items():
            project = project_of(entry)
            if project in refused:
                scope.failed[entry_id] = refused[project]
            elif project in scope.projects and (budget := scope.projects[project].of(entry)):
                chosen[budget.key] = budget
        for key in keys:
            known = scope.projects.get(project_of_key(key))
            budget = next((b for b in known.all() if b.key == key), None) if known else None
            if budget is not None:
                chosen[key] = budget
        return chosen

    async def _listed(
        self,
        reads: dict[str, str],
        given: dict[str, dict[str, Any]],
        refused: dict[str, AworkRejected],
        scope: Scope,
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """Each project's entries by id, one listing per project (`reads`: its `filterby`).
        A listing awork refuses fails the entries in hand of that project."""

        async def read(project: str, expression: str) -> dict[str, dict[str, Any]]:
            try:
                found = await self._client.entries_matching(expression)
            except AworkRejected as e:
                for entry_id, entry in given.items():
                    if project_of(entry) == project:
                        scope.failed.setdefault(entry_id, e)
                refused[project] = e
                return {}
            return {str(e["id"]): e for e in found}

        jobs = [functools.partial(read, p, x) for p, x in reads.items()]
        return dict(zip(reads, await gather_limited(jobs), strict=True))


def _reads(chosen: dict[str, Budget], complete: set[str]) -> dict[str, str]:
    """The listing of each project with a chosen budget (not `complete` ones): the whole project
    when its own budget is chosen, else the days of its chosen retainer periods."""
    by_project: dict[str, list[Budget]] = {}
    for budget in chosen.values():
        if budget.project not in complete:
            by_project.setdefault(budget.project, []).append(budget)
    reads = {}
    for project, budgets in by_project.items():
        expression = filterby.eq_guid("projectId", project)
        periods = [b for b in budgets if b.start is not None and b.end is not None]
        if len(periods) == len(budgets):  # retainer periods only: their days are enough
            first = min(b.start for b in periods if b.start is not None)
            last = max(b.end for b in periods if b.end is not None)
            expression = filterby.both(
                expression,
                filterby.ge("startDateUtc", filterby.day_start(_day(first))),
                filterby.le("startDateUtc", filterby.day_end(_day(last))),
            )
        reads[project] = expression
    return reads


def _of_project(given: dict[str, dict[str, Any]], project: str) -> dict[str, dict[str, Any]]:
    return {i: e for i, e in given.items() if project_of(e) == project}


def _belongs(scope: Scope, entry: dict[str, Any], budget: Budget) -> bool:
    project = project_of(entry)
    known = scope.projects.get(project) if project else None
    found = known.of(entry) if known else None
    return found is not None and found.key == budget.key


def _differs(record: dict[str, Any] | None, budget: Budget) -> bool:
    if record is None:
        return True
    return record.get("seconds") != budget.seconds or record.get("deduct") != budget.deduct_all


def _day(ticks: int) -> date:
    return date.fromisoformat(iso(ticks)[:10])
