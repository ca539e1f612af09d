"""awork's `orderby`: `Prop [asc|desc]`, several joined by commas with no spaces around them
(api-notes 2.3); nested properties with `/`, names matched case-insensitively."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from service.sandbox.filters import FilterError, check_field, resolve


def compile_order(text: str, fields: Collection[str] | None = None) -> list[tuple[str, bool]]:
    """`[(path, descending), ...]` for an `orderby` value; `FilterError` if it is invalid."""
    order = []
    for part in text.split(","):
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_/]*)(?: (asc|desc))?", part, re.IGNORECASE)
        if match is None:
            raise FilterError(f"Invalid orderby clause {part!r}: expected 'Property [asc|desc]'.")
        path, direction = match.groups()
        check_field(path, {f.lower() for f in fields} if fields is not None else None)
        order.append((path, (direction or "asc").lower() == "desc"))
    return order


def sort_items(
    items: list[Any], order: list[tuple[str, bool]], view: Callable[[Any], Mapping[str, Any]]
) -> list[Any]:
    """Sort stably by each `(path, descending)`; null sorts first ascending."""
    result = list(items)
    for path, descending in reversed(order):
        segments = path.split("/")
        result.sort(key=lambda item: sort_key(resolve(view(item), segments)), reverse=descending)
    return result


def sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first, then numbers and booleans, then everything else as text."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))
