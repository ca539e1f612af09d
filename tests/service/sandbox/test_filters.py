from __future__ import annotations

from typing import Any

import pytest

from service.sandbox.filters import FilterError, compile_filter
from service.sandbox.ordering import compile_order, sort_items

ENTRY: dict[str, Any] = {
    "id": "6f1a2b3c-0000-4000-8000-000000000001",
    "isBillable": True,
    "isBilled": False,
    "duration": 3600,
    "note": "It's a call",
    "endTimeUtc": None,
    "updatedOn": "2026-11-02T10:00:00.1234567Z",
    "project": {"name": "RET Nordlicht", "companyId": "6f1a2b3c-0000-4000-8000-0000000000cc"},
}
FIELDS = set(ENTRY)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "id in (guid'6F1A2B3C-0000-4000-8000-000000000001',"
            " guid'6f1a2b3c-0000-4000-8000-000000000002')",
            True,
        ),
        ("id in (guid'6f1a2b3c-0000-4000-8000-000000000002')", False),
        ("updatedOn gt datetime'2026-11-01T00:00:00'", True),
        ("updatedOn gt datetime'2026-11-02T10:00:00.1234567Z'", False),
        ("updatedOn gt datetime'2026-11-02T10:00:00.1234566Z'", True),
        ("updatedOn le datetime'2026-11-02T11:00:00.1234567+01:00'", True),
        ("isBillable eq true and isBilled eq false", True),
        ("isBillable eq true and not (isBilled eq false)", False),
        ("isBilled eq true or duration ge 3600", True),
        ("not isBilled and (duration lt 60 or duration gt 60)", True),
        ("note eq 'It''s a call'", True),
        ("project/name eq 'RET Nordlicht'", True),
        ("Project/CompanyId eq guid'6f1a2b3c-0000-4000-8000-0000000000cc'", True),
        ("startswith(project/name, 'RET ')", True),
        ("substringof('call', tolower(note)) eq true", True),
        ("endTimeUtc eq null and duration ne null", True),
        ("project/missing eq null", True),
        ("duration eq 3600L", True),
        ("duration ne 'text'", True),
    ],
)
def test_expressions(expression: str, expected: bool) -> None:
    assert compile_filter(expression, FIELDS)(ENTRY) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "isBillable eq",
        "isBillable eq true)",
        "(isBillable eq true",
        "isBillable eq true and",
        "id eq guid'not-a-guid'",
        "updatedOn gt datetime'yesterday'",
        "unknownField eq 1",
        "eq eq 1",
        "project/tags/any(t: t/name eq 'x')",
        "isBillable == true",
        "'text' eq note",
    ],
)
def test_bad_expressions_are_refused(expression: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(expression, FIELDS)


def test_orderby_sorts_by_several_keys_with_null_first() -> None:
    items = [{"a": 2, "b": "x"}, {"a": None, "b": "y"}, {"a": 2, "b": "a"}, {"a": 1, "b": "z"}]
    order = compile_order("a desc,b", {"a", "b"})
    assert [(i["a"], i["b"]) for i in sort_items(items, order, lambda i: i)] == [
        (2, "a"),
        (2, "x"),
        (1, "z"),
        (None, "y"),
    ]


@pytest.mark.parametrize("clause", ["a sideways", "a asc, b", "", "nope"])
def test_bad_orderby_is_refused(clause: str) -> None:
    with pytest.raises(FilterError):
        compile_order(clause, {"a", "b"})
