"""Reading a rules file (SPEC section 5) into a `RuleSet`: every problem is one `RulesError`
with the file, the 1-based YAML line and the rule, never a bare YAML or OS error:

    rules.yaml:12: rule 'calls-are-meetings': unknown operator 'match'

YAML is read as nodes (`workers.rules.yamlnodes`: line numbers, safe tags only, duplicate keys
refused); `when` is compiled by `workers.rules.conditions`, its operators live in
`workers.rules.operators`.

Choices where SPEC 5 is silent: `when` is required (`when: {}` matches every entry) — a missing
or empty `when` is refused because a mis-indented one would otherwise silently match everything.
`then` must set at least one attribute. Type-of-work ids must be GUIDs.
"""

from __future__ import annotations

import os
import re

from yaml.nodes import MappingNode, Node, ScalarNode

from service.contract.ids import is_guid
from workers.rules import conditions, yamlnodes
from workers.rules.model import ATTRIBUTES, Actions, Rule, RulesError, RuleSet, TypeOfWork
from workers.rules.yamlnodes import Items, NodeError

_TOP_KEYS = ("version", "rules", "respect_manual_changes")
_RULE_KEYS = ("name", "when", "then")
_NAME = re.compile(r"[A-Za-z0-9_-]+")


def parse_rules(text: str, source: str = "<string>") -> RuleSet:
    """Parse and compile a rules file's text; `RulesError` names the first problem."""
    seen: dict[str, int] = {}
    try:
        top = yamlnodes.mapping(_document(yamlnodes.compose(text)), "the rules file")
        yamlnodes.check_keys(top, _TOP_KEYS, "top-level key")
        version = yamlnodes.version(top)
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
        text = yamlnodes.read(source, "rules file")
    except NodeError as e:
        raise RulesError(e.message, source) from e
    return parse_rules(text, source)


def _document(root: Node | None) -> Node:
    if root is None:
        raise NodeError(None, "the rules file is empty (expected 'version: 1' and 'rules:')")
    return root


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
        if not isinstance(value, str) or not is_guid(value):
            raise NodeError(line, f"type_of_work id {value_node.value!r} is not a UUID")
        return TypeOfWork(value.lower(), None, line)
    if not isinstance(value, str) or not value.strip():
        raise NodeError(line, "type_of_work name must be non-empty text")
    return TypeOfWork(None, value, line)
