"""awork's `filterby` and `orderby`: the subset of its OData-like language the service uses.

Grammar (api-notes 2.3; keywords are case-insensitive, property names too):

    expr     := conj ("or" conj)*
    conj     := unary ("and" unary)*
    unary    := "not" unary | "(" expr ")" | test
    test     := operand [compare literal | "in" "(" literal ("," literal)* ")"]
    compare  := "eq" | "ne" | "gt" | "ge" | "lt" | "le"
    operand  := path | ("startswith"|"endswith"|"substringof"|"tolower"|"toupper") "(" args ")"
    path     := name ("/" name)*
    literal  := 'text' (quote written '') | guid'…' | datetime'…' | true | false | null | number

A bare operand is true when it is `true` (`isBillable and not isBilled`). `datetime` literals
compare as instants to the 100 ns tick (naive means UTC), `guid` literals ignore
case, string comparisons are case-sensitive. Not supported, answered like a bad expression:
`any`/`all` lambdas, `count()`, arithmetic, and the specials `now`, `today`, `me.id`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.sandbox.clock import parse_ticks, ticks
from service.sandbox.contract import is_guid

Predicate = Callable[[Mapping[str, Any]], bool]
Operand = Callable[[Mapping[str, Any]], Any]

_TOKENS = re.compile(
    r"""\s*(?:
      (?P<typed>(?i:guid|datetime|datetimeoffset)'(?:[^']|'')*')
    | (?P<text>'(?:[^']|'')*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMfFlLdD]?(?![A-Za-z0-9_]))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", *_COMPARE}
_FUNCTIONS = {"startswith": 2, "endswith": 2, "substringof": 2, "tolower": 1, "toupper": 1}


class FilterError(ValueError):
    """A `filterby` or `orderby` awork would refuse (`invalid-filter-or-order`)."""


@dataclass(frozen=True)
class Literal:
    kind: str  # text, guid, datetime, bool, null, number
    value: Any


@dataclass(frozen=True)
class Token:
    kind: str  # typed, text, number, name, punct, end
    text: str
    position: int


def compile_filter(text: str, fields: Collection[str] | None = None) -> Predicate:
    """A predicate over entities for a `filterby` expression; `FilterError` if it is invalid.

    `fields` are the property names the first path segment may use (any if None).
    """
    parser = _Parser(_tokenize(text), {f.lower() for f in fields} if fields is not None else None)
    predicate = parser.expression()
    parser.expect_end()
    return predicate


def resolve(entity: Mapping[str, Any], segments: list[str]) -> Any:
    """Follow a `/` path through nested dicts, matching names case-insensitively."""
    current: Any = entity
    for segment in segments:
        if not isinstance(current, Mapping):
            return None
        if segment in current:
            current = current[segment]
            continue
        lowered = segment.lower()
        current = next((v for k, v in current.items() if k.lower() == lowered), None)
    return current


def _tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKENS.match(text, position)
        if match is None or match.lastgroup is None:
            raise FilterError(f"Unexpected {text[position:].strip()[:20]!r} at {position}.")
        tokens.append(
            Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def check_field(path: str, fields: set[str] | None) -> None:
    first = path.split("/")[0].lower()
    if fields is not None and first not in fields:
        raise FilterError(f"Unknown property {path.split('/')[0]!r}.")


class _Parser:
    """Recursive descent over the token list, building closures."""

    def __init__(self, tokens: list[Token], fields: set[str] | None) -> None:
        self.tokens = tokens
        self.index = 0
        self.fields = fields

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token.kind == "name" and token.text.lower() in words:
            self.index += 1
            return token.text.lower()
        return None

    def punct(self, char: str) -> None:
        token = self.take()
        if token.kind != "punct" or token.text != char:
            raise FilterError(f"Expected {char!r} at {token.position}, found {token.text!r}.")

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            raise FilterError(f"Unexpected {token.text!r} at {token.position}.")

    def expression(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda e: any(p(e) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda e: all(p(e) for p in parts))

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda e: not inner(e)
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.expression()
            self.punct(")")
            return inner
        return self.test()

    def test(self) -> Predicate:
        operand = self.operand()
        word = self.keyword(*_COMPARE, "in")
        if word is None:
            return lambda e: operand(e) is True
        if word == "in":
            self.punct("(")
            options = [self.literal()]
            while self.peek().text == ",":
                self.take()
                options.append(self.literal())
            self.punct(")")
            return _member(operand, options)
        literal = self.literal()
        return lambda e: _compare(word, operand(e), literal)

    def operand(self) -> Operand:
        token = self.take()
        name = token.text.lower()
        if token.kind != "name" or name in _KEYWORDS:
            raise FilterError(f"Expected a property at {token.position}, found {token.text!r}.")
        if name in _FUNCTIONS:
            return self.function(name)
        check_field(token.text, self.fields)
        segments = token.text.split("/")
        return lambda e: resolve(e, segments)

    def function(self, name: str) -> Operand:
        self.punct("(")
        args: list[Operand] = []
        while len(args) < _FUNCTIONS[name]:
            if args:
                self.punct(",")
            args.append(self.argument())
        self.punct(")")
        return _function(name, args)

    def argument(self) -> Operand:
        token = self.peek()
        if token.kind == "name" and token.text.lower() not in _KEYWORDS:
            return self.operand()
        value = self.literal().value
        return lambda e: value

    def literal(self) -> Literal:
        token = self.take()
        word = token.text.lower()
        if token.kind == "text":
            return Literal("text", token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            digits = token.text.rstrip("mMfFlLdD")
            return Literal("number", float(digits) if re.search(r"[.eE]", digits) else int(digits))
        if token.kind == "typed":
            return _typed(token)
        if token.kind == "name" and word in ("true", "false"):
            return Literal("bool", word == "true")
        if token.kind == "name" and word == "null":
            return Literal("null", None)
        raise FilterError(f"Expected a literal at {token.position}, found {token.text!r}.")


def _typed(token: Token) -> Literal:
    prefix, _, rest = token.text.partition("'")
    body = rest[:-1].replace("''", "'")
    if prefix.lower() == "guid":
        if not is_guid(body):
            raise FilterError(f"Invalid guid literal {token.text!r} at {token.position}.")
        return Literal("guid", body.lower())
    moment = parse_ticks(body)
    if moment is None:
        raise FilterError(f"Invalid datetime literal {token.text!r} at {token.position}.")
    return Literal("datetime", moment)


def _function(name: str, args: list[Operand]) -> Operand:
    def call(entity: Mapping[str, Any]) -> Any:
        values = [arg(entity) for arg in args]
        if not all(isinstance(v, str) for v in values):
            return None
        if name == "tolower":
            return values[0].lower()
        if name == "toupper":
            return values[0].upper()
        if name == "substringof":
            return values[0] in values[1]
        return getattr(values[0], name)(values[1])  # startswith / endswith

    return call


def _member(operand: Operand, options: list[Literal]) -> Predicate:
    """`x in (...)`: a set lookup when every literal has the same non-null kind (long id lists
    are the common case), else one comparison per literal."""
    kinds = {o.kind for o in options}
    if len(kinds) != 1 or "null" in kinds:
        return lambda e: any(_compare("eq", operand(e), o) for o in options)
    kind, values = kinds.pop(), {o.value for o in options}
    return lambda e: _coerce(operand(e), kind) in values


def _compare(word: str, actual: Any, literal: Literal) -> bool:
    if literal.kind == "null" or actual is None:
        same = actual is None and literal.kind == "null"
        return {"eq": same, "ne": not same}.get(word, False)
    value = _coerce(actual, literal.kind)
    if value is None:
        return word == "ne"
    try:
        return bool(_COMPARE[word](value, literal.value))
    except TypeError:
        return False


def _coerce(actual: Any, kind: str) -> Any:
    """The entity's value in the literal's type, or None when it cannot be compared."""
    if kind == "datetime":
        if isinstance(actual, datetime):
            return ticks(actual)
        return parse_ticks(actual) if isinstance(actual, str) else None
    if kind == "guid":
        return actual.lower() if isinstance(actual, str) else None
    if kind == "bool":
        return actual if isinstance(actual, bool) else None
    if kind == "number":
        return actual if isinstance(actual, int | float) and not isinstance(actual, bool) else None
    return actual if isinstance(actual, str) else None
