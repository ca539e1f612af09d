"""Conditions: a rule's `when`, compiled from its YAML node into one plain function.

A `when` is a mapping whose every key must hold (AND). A key is a field path (dotted, camelCase,
from `workers.rules.fields`) or a combinator:

    project.name: "ACME"                      # a bare value means eq
    duration: {gt: 0, lt: 3600}               # several operators on one field: all must hold
    all: [{...}, {...}]                       # every condition holds
    any: [{...}, {...}]                       # at least one holds
    not: {...}                                # the condition does not hold

An empty `when: {}` matches every entry. Empty `all`/`any` lists and `not: {}` are errors: they
are almost certainly mistakes. `not` is plain logic, so `not: {project.name: X}` is true for an
entry without a project, where `project.name: {ne: X}` is false.

Compiling splits paths, compiles regexes and checks arguments once; testing an entry then costs
a few function calls per rule and never raises. Problems raise `yamlnodes.NodeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.rules import fields, operators, yamlnodes
from workers.rules.operators import Check
from workers.rules.yamlnodes import NodeError

Test = Callable[[Mapping[str, Any]], bool]
"""A compiled condition: entry in, verdict out."""

_COMBINATORS = ("all", "any", "not")


@dataclass(frozen=True)
class Condition:
    """A compiled `when`: `test(entry)` decides; `fields` are the paths it reads."""

    test: Test
    fields: frozenset[str]

    def __call__(self, entry: Mapping[str, Any]) -> bool:
        return self.test(entry)


def compile_when(node: Node, extra: frozenset[str] = frozenset()) -> Condition:
    """Compile the value node of a rule's `when`.

    `extra` names fields beyond the time entry's that the caller adds to each entry before
    testing it (the rates file's `weekday` and `localStartHour`, `workers.rates`); the rules
    themselves pass none.
    """
    used: set[str] = set()
    return Condition(_condition(node, used, extra), frozenset(used))


def _condition(node: Node, used: set[str], extra: frozenset[str]) -> Test:
    items = yamlnodes.mapping(node, "a condition")
    return all_of(
        [_clause(key, key_node, value, used, extra) for key, (key_node, value) in items.items()]
    )


def _clause(
    key: str, key_node: ScalarNode, node: Node, used: set[str], extra: frozenset[str]
) -> Test:
    if key in ("all", "any"):
        items = yamlnodes.sequence(node, f"{key!r}")
        if not items:
            raise NodeError(yamlnodes.line(node), f"{key!r} needs at least one condition")
        tests = [_condition(item, used, extra) for item in items]
        return all_of(tests) if key == "all" else any_of(tests)
    if key == "not":
        if isinstance(node, MappingNode) and not node.value:
            raise NodeError(yamlnodes.line(node), "'not: {}' never matches")
        return not_of(_condition(node, used, extra))
    if key not in extra and not fields.is_known(key):
        suggestion = fields.suggest(key)
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        raise NodeError(yamlnodes.line(key_node), f"unknown field {key!r}{hint}")
    used.add(key)
    return field_test(key, _checks(key, node))


def _checks(path: str, node: Node) -> list[Check]:
    if isinstance(node, SequenceNode):
        message = f"a bare list for {path!r} is ambiguous: write {{in: [...]}} or {{eq: [...]}}"
        raise NodeError(yamlnodes.line(node), message)
    if not isinstance(node, MappingNode):
        return [_operator("eq", node)]
    items = yamlnodes.mapping(node, f"the operators of {path!r}")
    if not items:
        raise NodeError(yamlnodes.line(node), f"no operator for field {path!r}")
    for name, (key_node, _) in items.items():
        if name not in operators.OPERATORS:
            raise NodeError(yamlnodes.line(key_node), _unknown_operator(path, name))
    return [_operator(name, value) for name, (_, value) in items.items()]


def _unknown_operator(path: str, name: str) -> str:
    if fields.is_known(f"{path}.{name}"):
        return f"unknown operator {name!r} (to test a nested field, write '{path}.{name}')"
    choices = [*operators.OPERATORS, *_COMBINATORS]
    return f"unknown operator {name!r}{yamlnodes.hint(name, choices)}"


def _operator(name: str, node: Node) -> Check:
    if isinstance(node, MappingNode):
        raise NodeError(yamlnodes.line(node), f"{name!r} needs a value, got a mapping")
    try:
        return operators.operator(name, yamlnodes.value(node, repr(name)))
    except ValueError as e:
        raise NodeError(yamlnodes.line(node), str(e)) from e


def field_test(path: str, checks: Sequence[Check]) -> Test:
    """A test that reads `path` once and requires every check to hold on its value."""
    get = fields.getter(path)
    if len(checks) == 1:
        check = checks[0]
        return lambda entry: check(get(entry))
    return lambda entry: _every(checks, get(entry))


def _every(functions: Sequence[Callable[[Any], bool]], argument: Any) -> bool:
    # A plain loop, not all(<generator>): about twice as fast, and this is the hot path.
    for function in functions:  # noqa: SIM110
        if not function(argument):
            return False
    return True


def all_of(tests: Sequence[Test]) -> Test:
    """A test that holds when every test holds (and on every entry when `tests` is empty)."""
    if not tests:
        return lambda entry: True
    if len(tests) == 1:
        return tests[0]
    frozen = tuple(tests)
    return lambda entry: _every(frozen, entry)


def any_of(tests: Sequence[Test]) -> Test:
    """A test that holds when at least one test holds."""
    if len(tests) == 1:
        return tests[0]
    frozen = tuple(tests)

    def test(entry: Mapping[str, Any]) -> bool:
        for one in frozen:  # noqa: SIM110 (a loop is faster than any(<generator>))
            if one(entry):
                return True
        return False

    return test


def not_of(test: Test) -> Test:
    """A test that holds when `test` does not (so also on entries lacking its fields)."""
    return lambda entry: not test(entry)
