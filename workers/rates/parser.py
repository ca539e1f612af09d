"""Reading a rates file (`RATES_FILE`, issue 12) into a `RateTable`: every problem is one
`RatesError` with the file and the 1-based YAML line:

    version: 1
    currency: EUR
    rates:                          # the first in effect that matches wins
      - when: {project.company.name: "Nordlicht Brauerei GmbH"}
        hourly: 120
        from: 2026-01-01            # optional, local dates, both included
        until: 2026-12-31
      - when: {}
        hourly: 95
    rounding:                       # the first in effect that matches wins
      - when: {typeOfWork.name: Meeting}
        increment_minutes: 15
        minimum_minutes: 15         # optional, default 0
    surcharges:                     # every match applies, factors multiplied
      - when: {weekday: {in: [sat, sun]}}
        factor: 1.5

`when` is the rules' condition language (`workers.rules.conditions`) plus `weekday` (`mon`…`sun`)
and `localStartHour` (0–23) of the local start; their literals are checked here, so a `weekday:
saturday` that could never match is an error. Numbers are read from the text as written (no
float on the way to a `Decimal`). Choices where the issue is silent: `from`/`until` are allowed
on rounding and surcharges too; `hourly` may be 0; a missing list is an empty one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workers.rates.localstart import LOCAL_FIELDS, WEEKDAYS
from workers.rates.model import InEffect, Rate, RatesError, RateTable, Rounding, Surcharge
from workers.rules import conditions, yamlnodes
from workers.rules.yamlnodes import Items, NodeError

T = TypeVar("T")

_TOP_KEYS = ("version", "currency", "rates", "rounding", "surcharges")
_EFFECT_KEYS = ("from", "until")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_rates(text: str, source: str = "<string>") -> RateTable:
    """Parse a rates file's text; `RatesError` names the first problem."""
    try:
        root = yamlnodes.compose(text)
        if root is None:
            raise NodeError(None, "the rates file is empty (expected 'version: 1', 'currency:')")
        top = yamlnodes.mapping(root, "the rates file")
        yamlnodes.check_keys(top, _TOP_KEYS, "top-level key")
        yamlnodes.version(top)
        return RateTable(
            currency=_currency(top),
            rates=_items(top, "rates", "rate", _rate),
            rounding=_items(top, "rounding", "rounding", _rounding),
            surcharges=_items(top, "surcharges", "surcharge", _surcharge),
            source=source,
        )
    except NodeError as e:
        raise RatesError(e.message, source, e.line) from e


RATES_KEYS = frozenset({"currency", "rates", "rounding", "surcharges"})


def is_rates_file(path: str | os.PathLike[str]) -> bool:
    """Whether the YAML file at `path` is a rates file (a top-level key only a rates file has —
    `currency`, `rates`, `rounding`, `surcharges` — and no `rules`) rather than a rules file;
    unreadable or invalid YAML is not (the rules' reader then names the problem)."""
    try:
        with open(path, encoding="utf-8") as file:
            root = yamlnodes.compose(file.read())
    except (OSError, UnicodeDecodeError, NodeError):
        return False
    if not isinstance(root, MappingNode):
        return False
    keys = {key.value for key, _ in root.value}
    return bool(keys & RATES_KEYS) and "rules" not in keys


def load_rates(path: str | os.PathLike[str]) -> RateTable:
    """Read and parse the rates file at `path`; an unreadable file is a `RatesError` too."""
    source = os.fspath(path)
    try:
        text = yamlnodes.read(source, "rates file")
    except NodeError as e:
        raise RatesError(e.message, source) from e
    return parse_rates(text, source)


def _currency(top: Items) -> str:
    if "currency" not in top:
        raise NodeError(None, "missing 'currency' (an ISO 4217 code such as EUR)")
    node = top["currency"][1]
    value = yamlnodes.scalar(node, "'currency'")
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        message = f"'currency' must be an ISO 4217 code such as EUR, got {node.value!r}"
        raise NodeError(yamlnodes.line(node), message)
    return value


def _items(top: Items, key: str, noun: str, build: Callable[[Items, int], T]) -> tuple[T, ...]:
    """The items of list `key`, each built by `build(items, line)`; errors name `noun N`."""
    if key not in top:
        return ()
    node = top[key][1]
    if isinstance(node, ScalarNode) and yamlnodes.scalar(node, repr(key)) is None:
        return ()
    built = []
    for number, item in enumerate(yamlnodes.sequence(node, repr(key)), start=1):
        try:
            built.append(build(yamlnodes.mapping(item, f"a {noun}"), yamlnodes.line(item) or 1))
        except NodeError as e:
            raise NodeError(e.line, f"{noun} {number}: {e.message}") from e
    return tuple(built)


def _rate(items: Items, line: int) -> Rate:
    yamlnodes.check_keys(items, ("when", "hourly", *_EFFECT_KEYS), "rate key")
    hourly = _number(_required(items, "hourly", line), "'hourly'", allow_zero=True)
    return Rate(_when(items, line), hourly, _effect(items), line)


def _rounding(items: Items, line: int) -> Rounding:
    keys = ("when", "increment_minutes", "minimum_minutes", *_EFFECT_KEYS)
    yamlnodes.check_keys(items, keys, "rounding key")
    increment = _whole(_required(items, "increment_minutes", line), "'increment_minutes'", 1)
    minimum = 0
    if "minimum_minutes" in items:
        minimum = _whole(items["minimum_minutes"][1], "'minimum_minutes'", 0)
    return Rounding(_when(items, line), increment, minimum, _effect(items), line)


def _surcharge(items: Items, line: int) -> Surcharge:
    yamlnodes.check_keys(items, ("when", "factor", *_EFFECT_KEYS), "surcharge key")
    factor = _number(_required(items, "factor", line), "'factor'", allow_zero=False)
    return Surcharge(_when(items, line), factor, _effect(items), line)


def _required(items: Items, key: str, line: int) -> Node:
    if key not in items:
        raise NodeError(line, f"missing {key!r}")
    return items[key][1]


def _when(items: Items, line: int) -> conditions.Condition:
    if "when" not in items:
        raise NodeError(line, "missing 'when' (write 'when: {}' to match every entry)")
    node = items["when"][1]
    if isinstance(node, ScalarNode) and yamlnodes.scalar(node, "'when'") is None:
        raise NodeError(yamlnodes.line(node), "'when' is empty (write 'when: {}')")
    condition = conditions.compile_when(node, LOCAL_FIELDS)
    _check_local_literals(node)
    return condition


def _check_local_literals(node: Node) -> None:
    """`weekday` and `localStartHour` literals anywhere in a condition must be possible values."""
    if isinstance(node, SequenceNode):
        for item in node.value:
            _check_local_literals(item)
    if not isinstance(node, MappingNode):
        return
    for key_node, value in node.value:
        if key_node.value in LOCAL_FIELDS:
            _check_field_literals(key_node.value, value)
        else:
            _check_local_literals(value)


def _check_field_literals(field: str, node: Node) -> None:
    if isinstance(node, MappingNode):  # {operator: literal(s)}; `exists` takes a boolean
        for op_node, value in node.value:
            if op_node.value != "exists":
                _check_field_literals(field, value)
        return
    for literal in node.value if isinstance(node, SequenceNode) else [node]:
        value = yamlnodes.scalar(literal, repr(field))
        if field == "weekday" and value not in WEEKDAYS:
            message = f"weekday {literal.value!r} is not one of {', '.join(WEEKDAYS)}"
            raise NodeError(yamlnodes.line(literal), message)
        if field == "localStartHour" and (type(value) is not int or not 0 <= value <= 23):
            message = f"localStartHour {literal.value!r} is not an hour from 0 to 23"
            raise NodeError(yamlnodes.line(literal), message)


def _number(node: Node, what: str, *, allow_zero: bool) -> Decimal:
    yamlnodes.scalar(node, what)
    text = str(node.value).strip()
    if not _NUMBER.fullmatch(text) or (not allow_zero and Decimal(text) == 0):
        kind = "a number of at least 0" if allow_zero else "a positive number"
        raise NodeError(yamlnodes.line(node), f"{what} must be {kind}, got {node.value!r}")
    return Decimal(text)


def _whole(node: Node, what: str, least: int) -> int:
    value = yamlnodes.scalar(node, what)
    if type(value) is not int or value < least:
        message = f"{what} must be a whole number of at least {least}, got {node.value!r}"
        raise NodeError(yamlnodes.line(node), message)
    return value


def _effect(items: Items) -> InEffect:
    start = _day(items["from"][1], "'from'") if "from" in items else None
    until = _day(items["until"][1], "'until'") if "until" in items else None
    if start is not None and until is not None and until < start:
        where = yamlnodes.line(items["until"][1])
        raise NodeError(where, f"'until' {until} is before 'from' {start}")
    return InEffect(start, until)


def _day(node: Node, what: str) -> date:
    value = yamlnodes.scalar(node, what)
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise NodeError(yamlnodes.line(node), f"{what} must be a date YYYY-MM-DD, got {node.value!r}")
