"""YAML read as nodes, so every value keeps the line it was written on.

`compose` parses with PyYAML's safe loader but stops at the node graph; the helpers here turn
nodes into Python values the strict way a rules file needs: duplicate keys are an error (PyYAML
would silently keep the last), keys are the text as written (`on:` is the key "on", not `True`),
only plain scalars are accepted (no tag ever constructs an object), and timestamps stay the text
written. Problems raise `NodeError(line, message)`; `workers.rules.parser` adds the file and rule.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_TAG = "tag:yaml.org,2002:"
_CONSTRUCTOR: Final = yaml.constructor.SafeConstructor()
# The safe constructor's scalar methods only read `node.value`, so one instance serves all.
_SCALARS: Final[Mapping[str, Callable[[ScalarNode], Any]]] = {
    _TAG + "str": lambda node: node.value,
    _TAG + "timestamp": lambda node: node.value,
    _TAG + "null": lambda node: None,
    _TAG + "bool": _CONSTRUCTOR.construct_yaml_bool,
    _TAG + "int": _CONSTRUCTOR.construct_yaml_int,
    _TAG + "float": _CONSTRUCTOR.construct_yaml_float,
}

Items = dict[str, tuple[ScalarNode, Node]]
"""A mapping node's entries: key text -> (key node, value node), in file order."""


class NodeError(Exception):
    """A problem at one place of a YAML document (`line` is 1-based, None for the whole)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(line, message)
        self.line = line
        self.message = message


def read(path: str, what: str) -> str:
    """The text of the file at `path`; `NodeError(None, …)` says why it cannot be read (`what`
    names it: "rules file")."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as e:
        raise NodeError(None, f"cannot read {what}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise NodeError(None, f"{what} is not UTF-8 text: {e.reason}") from e


def line(node: Node | None) -> int | None:
    """The 1-based line a node starts on."""
    return None if node is None else node.start_mark.line + 1


def compose(text: str) -> Node | None:
    """The root node of a one-document YAML text (None when empty); syntax errors raise."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = ", ".join(part for part in (e.context, e.problem) if part) or "syntax error"
        raise NodeError(None if mark is None else mark.line + 1, f"invalid YAML: {problem}") from e
    except yaml.reader.ReaderError as e:  # a character YAML does not allow
        where = text.count("\n", 0, e.position) + 1
        raise NodeError(where, f"invalid YAML: {e.reason}") from e
    except yaml.YAMLError as e:
        raise NodeError(None, f"invalid YAML: {e}") from e


def kind(node: Node | None) -> str:
    """How to name what a node holds in an error message."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node is None or node.tag == _TAG + "null":
        return "nothing"
    return f"{node.value!r}"


def mapping(node: Node | None, what: str) -> Items:
    """The entries of a mapping node; `what` names it in errors."""
    if not isinstance(node, MappingNode):
        raise NodeError(line(node), f"{what} must be a mapping, got {kind(node)}")
    items: Items = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise NodeError(line(key_node), f"a key in {what} must be plain text")
        key = key_node.value
        if key in items:
            first = line(items[key][0])
            raise NodeError(line(key_node), f"duplicate key {key!r} (first on line {first})")
        items[key] = (key_node, value_node)
    return items


def sequence(node: Node | None, what: str) -> list[Node]:
    """The items of a list node; `what` names it in errors."""
    if not isinstance(node, SequenceNode):
        raise NodeError(line(node), f"{what} must be a list, got {kind(node)}")
    return list(node.value)


def scalar(node: Node, what: str) -> Any:
    """The value of a plain scalar: text, number, boolean or None (a timestamp as its text)."""
    if not isinstance(node, ScalarNode):
        raise NodeError(line(node), f"{what} must be a plain value, got {kind(node)}")
    construct = _SCALARS.get(node.tag)
    if construct is None:
        raise NodeError(line(node), f"unsupported YAML tag {node.tag!r} in {what}")
    return construct(node)


def value(node: Node, what: str) -> Any:
    """A plain scalar, or a list of them."""
    if isinstance(node, SequenceNode):
        return [scalar(item, f"a list item of {what}") for item in node.value]
    return scalar(node, what)


def check_keys(items: Items, allowed: Collection[str], what: str) -> None:
    """Reject any key not in `allowed`, suggesting the closest allowed one."""
    for key, (key_node, _) in items.items():
        if key not in allowed:
            raise NodeError(line(key_node), f"unknown {what} {key!r}{hint(key, allowed)}")


def hint(word: str, choices: Collection[str]) -> str:
    """' (did you mean ...?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def version(top: Items) -> int:
    """The file's `version`, which must be 1 (rules and rates files alike)."""
    if "version" not in top:
        raise NodeError(None, "missing 'version: 1'")
    node = top["version"][1]
    value = scalar(node, "'version'")
    if type(value) is not int or value != 1:
        raise NodeError(line(node), f"unsupported version {node.value!r} (expected 1)")
    return value
