"""Plain-text tables for the CLI: text left-aligned, numbers (and "-") right-aligned, long cells
cut short.

table([{"rule": "x", "entries": 3}], ["rule", "entries"])
->  ["rule  entries", "x           3"]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_WIDTH = 40


def counted(n: int, one: str, many: str | None = None) -> str:
    """`1 entry`, `2 entries`: a count and its noun (`many` defaults to `one` + "s")."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    headers: Mapping[str, str] | None = None,
    max_width: int = MAX_WIDTH,
) -> list[str]:
    """The lines of a table of `rows` (one line per row, a header line first)."""
    titles = [(headers or {}).get(c, c) for c in columns]
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    numeric = [_numeric([row.get(c) for row in rows]) for c in columns]
    widths = [
        min(max_width, max(len(t), *(len(line[i]) for line in cells)) if cells else len(t))
        for i, t in enumerate(titles)
    ]
    out = [_line(titles, widths, numeric)]
    out += [_line(line, widths, numeric) for line in cells]
    return out


def cut(text: str, width: int) -> str:
    """`text`, shortened to `width` with an ellipsis when longer."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _line(values: Sequence[str], widths: Sequence[int], numeric: Sequence[bool]) -> str:
    parts = [
        cut(v, w).rjust(w) if right else cut(v, w).ljust(w)
        for v, w, right in zip(values, widths, numeric, strict=True)
    ]
    return "  ".join(parts).rstrip()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _numeric(values: Sequence[Any]) -> bool:
    """A column of numbers (a "-" may stand for "not applicable") is right-aligned."""
    numbers = [isinstance(v, int | float) and not isinstance(v, bool) for v in values]
    return any(numbers) and all(n or v == "-" for n, v in zip(numbers, values, strict=True))
