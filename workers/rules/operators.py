"""Operators: how one field value is tested (`eq`, `in`, `matches`, `gt`, `exists`, ...).

`operator(name, arg)` checks the argument once, at load time, and returns a `Check`: a plain
function of the field's value. Checks never raise: a type mismatch (`gt` on text against a
number, `matches` on a number) is `False`. A bad argument raises `ValueError` at compile time;
`workers.rules.parser` turns it into a `RulesError` with the file, line and rule.

Value semantics (what the README documents for rule authors):
- `ABSENT` (path not on the entry) fails every operator except `exists: false` and `eq: null`;
  `ne` and `not_in` are false on it too. A present `null` equals `null` and does not "exist"
  (`exists: true` = present and not null).
- Booleans are not numbers: `eq: 1` is false on `true`; `gt`/`ge`/`lt`/`le` compare numbers with
  numbers and text with text only (ISO dates compare correctly as text).
- On a list value, `in` holds if any element is in the list, `not_in` if none is, and `contains`
  tests membership; `contains` on text is a (case-sensitive) substring test.
- `matches` searches with RE2 (google-re2): time linear in the text whatever the pattern, so a
  note written by anyone in the workspace cannot hang the worker with catastrophic backtracking.
  Python's syntax, less what RE2 refuses at load time (lookarounds, backreferences, atomic
  groups and possessive quantifiers, backslash-Z, the flags `x`, `a`, `u`, `L`); the classes of
  words, digits and word boundaries are ASCII-only (write backslash-p{L} for letters).
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import re2

from workers.rules.fields import ABSENT

Check = Callable[[Any], bool]
"""One operator applied to one field value (which may be `ABSENT`)."""

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is one `RulesError`, not lines on stderr


def operator(name: str, arg: Any) -> Check:
    """Compile operator `name` with argument `arg`; `ValueError` names what is wrong."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown operator {name!r}")
    return factory(name, arg)


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool)) or _is_number(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    return "text" if isinstance(value, str) else f"a {type(value).__name__}"


def _absent_or_null(value: Any) -> bool:
    return value is None or value is ABSENT


def _same(a: Any, b: Any) -> bool:
    """Equality in which booleans are not numbers (Python's `True == 1` is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


def _membership(items: Sequence[Any]) -> Check:
    texts = frozenset(x for x in items if isinstance(x, str))
    numbers = frozenset(x for x in items if _is_number(x))
    flags = frozenset(x for x in items if isinstance(x, bool))
    null = any(x is None for x in items)

    def member(value: Any) -> bool:
        if isinstance(value, str):
            return value in texts
        if isinstance(value, bool):
            return value in flags
        if _is_number(value):
            return value in numbers
        return null and value is None

    return member


def _eq(name: str, arg: Any) -> Check:
    if arg is None:
        return _absent_or_null
    if isinstance(arg, bool):
        return lambda value: value is arg
    if _is_number(arg):
        return lambda value: value == arg and not isinstance(value, bool)
    if isinstance(arg, str):
        return lambda value: value == arg
    if isinstance(arg, list) and all(map(_is_scalar, arg)):
        return lambda value: _same(value, arg)
    raise ValueError(f"{name!r} needs a plain value or a list of them, got {_kind(arg)}")


def _ne(name: str, arg: Any) -> Check:
    equal = _eq(name, arg)
    return lambda value: value is not ABSENT and not equal(value)


def _in(name: str, arg: Any) -> Check:
    if not isinstance(arg, list) or not arg:
        raise ValueError(f"{name!r} needs a non-empty list, got {_kind(arg)}")
    if not all(map(_is_scalar, arg)):
        raise ValueError(f"{name!r} needs a list of plain values (text, numbers, booleans, null)")
    member = _membership(arg)
    return lambda value: any(map(member, value)) if isinstance(value, list) else member(value)


def _not_in(name: str, arg: Any) -> Check:
    inside = _in(name, arg)
    return lambda value: value is not ABSENT and not inside(value)


def _contains(name: str, arg: Any) -> Check:
    if arg is None or not _is_scalar(arg):
        raise ValueError(f"{name!r} needs text, a number or a boolean, got {_kind(arg)}")
    member = _membership([arg])
    if not isinstance(arg, str):
        return lambda value: isinstance(value, list) and any(map(member, value))

    def contains(value: Any) -> bool:
        if isinstance(value, str):
            return arg in value
        return isinstance(value, list) and any(map(member, value))

    return contains


def _matches(name: str, arg: Any) -> Check:
    if not isinstance(arg, str):
        raise ValueError(f"{name!r} needs a regular expression as text, got {_kind(arg)}")
    try:
        search = re2.compile(arg, _RE2_OPTIONS).search
    except re2.error as e:
        reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(
            f"regular expression '{arg}' is not accepted: {reason} (rules use RE2, which runs "
            "in linear time on any note: no lookarounds or backreferences; "
            "https://github.com/google/re2/wiki/Syntax)"
        ) from e
    return lambda value: isinstance(value, str) and search(value) is not None


def _text(method: Callable[[str, str], bool]) -> Callable[[str, Any], Check]:
    def factory(name: str, arg: Any) -> Check:
        if not isinstance(arg, str):
            raise ValueError(f"{name!r} needs text, got {_kind(arg)}")
        return lambda value: isinstance(value, str) and method(value, arg)

    return factory


def _order(compare: Callable[[Any, Any], bool]) -> Callable[[str, Any], Check]:
    def factory(name: str, arg: Any) -> Check:
        if _is_number(arg):
            return lambda value: _is_number(value) and compare(value, arg)
        if isinstance(arg, str):
            return lambda value: isinstance(value, str) and compare(value, arg)
        raise ValueError(f"{name!r} needs a number or text, got {_kind(arg)}")

    return factory


def _exists(name: str, arg: Any) -> Check:
    if not isinstance(arg, bool):
        raise ValueError(f"{name!r} needs true or false, got {_kind(arg)}")
    if arg:
        return lambda value: value is not None and value is not ABSENT
    return _absent_or_null


_FACTORIES: Final[Mapping[str, Callable[[str, Any], Check]]] = {
    "eq": _eq,
    "ne": _ne,
    "in": _in,
    "not_in": _not_in,
    "matches": _matches,
    "startswith": _text(str.startswith),
    "endswith": _text(str.endswith),
    "contains": _contains,
    "gt": _order(op.gt),
    "ge": _order(op.ge),
    "lt": _order(op.lt),
    "le": _order(op.le),
    "exists": _exists,
}

OPERATORS: Final = frozenset(_FACTORIES)
"""The operator names a field condition may use."""
