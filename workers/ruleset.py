"""The billing rules file (SPEC section 5), loaded into an immutable, compiled `RuleSet`.

    load_rules(path) / parse_rules(text)
     └── RuleSet(version, rules, respect_manual_changes)
           └── rules: Rule(name, line, when: Condition, then: Actions)

Every problem with a rules file raises one exception, never a bare YAML or OS error:

    Exception
     └── RulesError(message, source, line, rule)
           str(e) == "rules.yaml:12: rule 'calls-are-meetings': unknown operator 'match'"

`source` is the file path (or "<string>"), `line` the 1-based YAML line (None when the file as a
whole is wrong), `rule` the rule's name (None outside a rule or before its name is known).

YAML is read as nodes (`workers.yamlnodes`: line numbers, safe tags only, duplicate keys refused);
`when` is compiled by `workers.conditions`, its operators live in `workers.operators`.

Choices where SPEC 5 is silent: `when` is required (`when: {}` matches every entry) — a missing
or empty `when` is refused because a mis-indented one would otherwise silently match everything.
`then` must set at least one attribute. Type-of-work ids must be UUIDs and are kept lower-case.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Literal

from yaml.nodes import MappingNode, Node, ScalarNode

from workers import conditions, yamlnodes
from workers.conditions import Condition
from workers.yamlnodes import Items, NodeError

Attribute = Literal["billable", "billed", "type_of_work"]
"""A billing attribute a rule sets: awork's `isBillable`, `isBilled`, `typeOfWorkId`."""

ATTRIBUTES: tuple[Attribute, ...] = ("billable", "billed", "type_of_work")
"""Every attribute, in the order changes are listed."""

_TOP_KEYS = ("version", "rules", "respect_manual_changes")
_RULE_KEYS = ("name", "when", "then")
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


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
    """A loaded rules file. Immutable; evaluate entries with `workers.rules.evaluate`.

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


def parse_rules(text: str, source: str = "<string>") -> RuleSet:
    """Parse and compile a rules file's text; `RulesError` names the first problem."""
    seen: dict[str, int] = {}
    try:
        top = yamlnodes.mapping(_document(yamlnodes.compose(text)), "the rules file")
        yamlnodes.check_keys(top, _TOP_KEYS, "top-level key")
        version = _version(top)
        manual = _flag(top, "respect_manual_changes") or False
        if "rules" not in top:
            raise NodeError(None, "missing 'rules' (write 'rules: []' for none)")
        rule_nodes = yamlnodes.sequence(top["rules"][1], "'rules'")
    except NodeError as e:
        raise RulesError(e.message, source, e.line) from e
    rules = tuple(_rule(node, source, seen) for node in rule_nodes)
    return RuleSet(version, rules, manual, source)


def load_rules(path: str | os.PathLike[str]) -> RuleSet:
    """Read and compile the rules file at `path`; an unreadable file is a `RulesError` too."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as file:
            text = file.read()
    except OSError as e:
        raise RulesError(f"cannot read rules file: {e.strerror or e}", source) from e
    except UnicodeDecodeError as e:
        raise RulesError(f"rules file is not UTF-8 text: {e.reason}", source) from e
    return parse_rules(text, source)


def _document(root: Node | None) -> Node:
    if root is None:
        raise NodeError(None, "the rules file is empty (expected 'version: 1' and 'rules:')")
    return root


def _version(top: Items) -> int:
    if "version" not in top:
        raise NodeError(None, "missing 'version: 1'")
    node = top["version"][1]
    version = yamlnodes.scalar(node, "'version'")
    if type(version) is not int or version != 1:
        raise NodeError(yamlnodes.line(node), f"unsupported version {node.value!r} (expected 1)")
    return version


def _flag(items: Items, key: str) -> bool | None:
    if key not in items:
        return None
    node = items[key][1]
    flag = yamlnodes.scalar(node, repr(key))
    if not isinstance(flag, bool):
        raise NodeError(yamlnodes.line(node), f"{key!r} must be true or false, got {node.value!r}")
    return flag


def _rule(node: Node, source: str, seen: dict[str, int]) -> Rule:
    """One rule; `seen` maps the names so far to their lines, to refuse duplicates."""
    line = yamlnodes.line(node) or 1
    name: str | None = None
    try:
        items = yamlnodes.mapping(node, "a rule")
        name = _name(items, line)
        if name in seen:
            where = yamlnodes.line(items["name"][1])
            raise NodeError(where, f"duplicate rule name (first on line {seen[name]})")
        seen[name] = line
        yamlnodes.check_keys(items, _RULE_KEYS, "rule key")
        if "when" not in items:
            raise NodeError(line, "missing 'when' (write 'when: {}' to match every entry)")
        when = conditions.compile_when(_present(items["when"][1], "'when'", "when: {}"))
        then = _actions(items, line)
    except NodeError as e:
        raise RulesError(e.message, source, e.line, name or _peek_name(node)) from e
    return Rule(name, line, when, then)


def _peek_name(node: Node) -> str | None:
    """The rule's name when its mapping itself is broken (say, a duplicate key), if valid."""
    for key_node, value_node in node.value if isinstance(node, MappingNode) else ():
        if key_node.value == "name" and isinstance(value_node, ScalarNode):
            return value_node.value if _NAME.fullmatch(value_node.value) else None
    return None


def _name(items: Items, line: int) -> str:
    if "name" not in items:
        raise NodeError(line, "rule has no 'name'")
    node = items["name"][1]
    name = yamlnodes.scalar(node, "a rule name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        message = f"invalid rule name {node.value!r}: use letters, digits, '-' and '_'"
        raise NodeError(yamlnodes.line(node), message)
    return name


def _present(node: Node, what: str, example: str) -> Node:
    """Refuse a key left empty (`when:` with nothing after it): it is a mistake, not `{}`."""
    if isinstance(node, ScalarNode) and yamlnodes.scalar(node, what) is None:
        raise NodeError(yamlnodes.line(node), f"{what} is empty (write '{example}')")
    return node


def _actions(rule: Items, line: int) -> Actions:
    if "then" not in rule:
        raise NodeError(line, "missing 'then'")
    node = _present(rule["then"][1], "'then'", "then: {billable: true}")
    items = yamlnodes.mapping(node, "'then'")
    yamlnodes.check_keys(items, ATTRIBUTES, "action")
    if not items:
        raise NodeError(yamlnodes.line(node), "'then' sets nothing")
    billable, billed = _flag(items, "billable"), _flag(items, "billed")
    if billable is False and billed is True:
        message = (
            "'billable: false' and 'billed: true' contradict each other"
            " (awork un-bills an entry that becomes unbillable)"
        )
        raise NodeError(yamlnodes.line(node), message)
    type_of_work = _type_of_work(items["type_of_work"][1]) if "type_of_work" in items else None
    return Actions(billable, billed, type_of_work)


def _type_of_work(node: Node) -> TypeOfWork:
    items = yamlnodes.mapping(node, "'type_of_work' ({id: ...} or {name: ...})")
    yamlnodes.check_keys(items, ("id", "name"), "type_of_work key")
    if len(items) != 1:
        raise NodeError(yamlnodes.line(node), "'type_of_work' needs exactly one of 'id' or 'name'")
    key, (_, value_node) = next(iter(items.items()))
    value = yamlnodes.scalar(value_node, f"type_of_work {key}")
    line = yamlnodes.line(value_node) or 1
    if key == "id":
        if not isinstance(value, str) or not _UUID.fullmatch(value):
            raise NodeError(line, f"type_of_work id {value_node.value!r} is not a UUID")
        return TypeOfWork(value.lower(), None, line)
    if not isinstance(value, str) or not value.strip():
        raise NodeError(line, "type_of_work name must be non-empty text")
    return TypeOfWork(None, value, line)
