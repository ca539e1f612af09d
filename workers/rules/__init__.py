"""The rules engine: pure — a time entry and a `RuleSet` in, decisions and changes out, no I/O.

    parser      `load_rules(path)` / `parse_rules(text)`: YAML -> `RuleSet`, or one `RulesError`
    model       `RuleSet`, `Rule`, `Actions`, `TypeOfWork`, `RulesError`, the attributes
    conditions  a rule's `when`, compiled into one function
    operators   `eq`, `in`, `matches`, `gt`, `exists`, …
    fields      the field paths a rule may read (awork's time-entry model, camelCase)
    yamlnodes   YAML read as nodes (line numbers, safe scalars, no duplicate keys)
    engine      `evaluate(entry, rules)`: decisions, changes, why nothing changed
    budgets     which budget an entry belongs to (a retainer period, the project's own), order
    ordered     `evaluate_budget`: a budget's entries in order, each seeing what is used up

It imports nothing of the project but the contract's id format.
"""

from workers.rules.budgets import Budget, ProjectBudgets, project_budgets, project_of
from workers.rules.engine import (
    Change,
    Decision,
    Evaluation,
    evaluate,
    field_value,
    is_running_timer,
    plan,
)
from workers.rules.fields import ABSENT, EXTRA_FIELDS, WILDCARD_PREFIXES, Absent
from workers.rules.model import ATTRIBUTES, Attribute, Rule, RulesError, RuleSet, TypeOfWork
from workers.rules.ordered import NO_BUDGET, THRESHOLDS, Use, evaluate_budget
from workers.rules.parser import load_rules, parse_rules

__all__ = [
    "ABSENT",
    "ATTRIBUTES",
    "EXTRA_FIELDS",
    "NO_BUDGET",
    "THRESHOLDS",
    "WILDCARD_PREFIXES",
    "Absent",
    "Attribute",
    "Budget",
    "Change",
    "Decision",
    "Evaluation",
    "ProjectBudgets",
    "Rule",
    "RuleSet",
    "RulesError",
    "TypeOfWork",
    "Use",
    "evaluate",
    "evaluate_budget",
    "field_value",
    "is_running_timer",
    "load_rules",
    "parse_rules",
    "plan",
    "project_budgets",
    "project_of",
]
