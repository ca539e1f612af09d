"""The compiled rules (SPEC section 5): an immutable `RuleSet` and the error every problem with a
rules file raises (`workers.rules.parser` builds them from YAML).

    RuleSet(version, rules, respect_manual_changes)
     └── rules: Rule(name, line, when: Condition, then: Actions)

Every problem with a rules file raises one exception, never a bare YAML or OS error:

    Exception
     └── RulesError(message, source, line, rule)
           str(e) == "rules.yaml:12: rule 'calls-are-meetings': unknown operator 'match'"

`source` is the file path (or "<string>"), `line` the 1-based YAML line (None when the file as a
whole is wrong), `rule` the rule's name (None outside a rule or before its name is known).

Type-of-work ids are kept lower-case.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Literal

from workers.rules.conditions import Condition

Attribute = Literal["billable", "billed", "type_of_work"]
"""A billing attribute a rule sets: awork's `isBillable`, `isBilled`, `typeOfWorkId`."""

ATTRIBUTES: tuple[Attribute, ...] = ("billable", "billed", "type_of_work")
"""Every attribute, in the order changes are listed."""


class RulesError(Exception):
    """A rules file is unreadable or invalid; says where (file, line, rule) and what."""

    def __init__(
        self,
        message: str,
        source: str = "<string>",
        line: int | None = None,
        rule: str | None = None,
    ) -> None:
        # All four in args, so the error pickles (arq ships exceptions between processes).
        super().__init__(message, source, line, rule)
        self.message = " ".join(message.split())
        self.source = source
        self.line = line
        self.rule = rule

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        rule = "" if self.rule is None else f" rule '{self.rule}':"
        return f"{where}:{rule} {self.message}"


@dataclass(frozen=True)
class TypeOfWork:
    """A `type_of_work` action: by `id`, or by `name` until `RuleSet.resolve_types` adds the id.

    `id` is kept lower-case; `line` is where the action is written.
    """

    id: str | None
    name: str | None
    line: int


@dataclass(frozen=True)
class Actions:
    """A rule's `then`: the values it sets (None = leaves the attribute to other rules)."""

    billable: bool | None = None
    billed: bool | None = None
    type_of_work: TypeOfWork | None = None
    attributes: frozenset[Attribute] = field(init=False, repr=False, compare=False)
    """The attributes this rule sets."""
    values: Mapping[Attribute, bool | str] = field(init=False, repr=False, compare=False)
    """Attribute -> value set; a type of work by id, missing while only its name is known."""

    def __post_init__(self) -> None:
        values: dict[Attribute, bool | str] = {}
        if self.billable is not None:
            values["billable"] = self.billable
        if self.billed is not None:
            values["billed"] = self.billed
        if self.type_of_work is not None and self.type_of_work.id is not None:
            values["type_of_work"] = self.type_of_work.id
        attributes = set(values)
        if self.type_of_work is not None:
            attributes.add("type_of_work")
        object.__setattr__(self, "values", MappingProxyType(values))
        object.__setattr__(self, "attributes", frozenset(attributes))


@dataclass(frozen=True)
class Rule:
    """One rule: `name`, its YAML `line`, the compiled `when` and the `then` actions."""

    name: str
    line: int
    when: Condition
    then: Actions


@dataclass(frozen=True)
class RuleSet:
    """A loaded rules file. Immutable; evaluate entries with `workers.rules.engine.evaluate`.

    `respect_manual_changes` is only carried here: the worker turns it into the `locked`
    attributes it passes to `evaluate`. `source` (not part of equality) names the file in errors.
    """

    version: int
    rules: tuple[Rule, ...]
    respect_manual_changes: bool = False
    source: str = field(default="<string>", compare=False)

    def type_of_work_names(self) -> frozenset[str]:
        """The names used by `type_of_work: {name: ...}` actions (to look up before evaluating)."""
        return frozenset(
            rule.then.type_of_work.name
            for rule in self.rules
            if rule.then.type_of_work is not None and rule.then.type_of_work.name is not None
        )

    @cached_property
    def unresolved(self) -> Rule | None:
        """The first rule whose type of work is still only a name, if any."""
        for rule in self.rules:
            if rule.then.type_of_work is not None and rule.then.type_of_work.id is None:
                return rule
        return None

    def resolve_types(self, name_to_id: Mapping[str, str]) -> RuleSet:
        """A copy in which every `type_of_work` action carries an id.

        Names match exactly (awork's `GET /typeofwork` names); an unknown name raises
        `RulesError` with the rule and the action's line — a start-up error, not a skip.
        """
        return dataclasses.replace(
            self, rules=tuple(self._resolve(rule, name_to_id) for rule in self.rules)
        )

    def _resolve(self, rule: Rule, name_to_id: Mapping[str, str]) -> Rule:
        action = rule.then.type_of_work
        if action is None or action.id is not None or action.name is None:
            return rule
        type_id = name_to_id.get(action.name)
        if type_id is None:
            close = difflib.get_close_matches(action.name, list(name_to_id), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown type of work {action.name!r}{hint}"
            raise RulesError(message, self.source, action.line, rule.name)
        resolved = dataclasses.replace(action, id=type_id.lower())
        return dataclasses.replace(rule, then=dataclasses.replace(rule.then, type_of_work=resolved))

    def fields(self) -> frozenset[str]:
        """Every field path any rule's `when` reads, as written in the file."""
        return frozenset().union(*(rule.when.fields for rule in self.rules))
