"""awork's `filterby` expressions, written in one place (api-notes 2.3, SPEC 7.3).

OData-like: `eq ne gt ge lt le`, `and or not`, `in (…)`; literals `guid'…'`, `datetime'…'`,
`'text'` (a quote written twice), `true`, `null`; nested properties with `/`. Plain query
parameters like `?startDateUtc=` are silently ignored by awork, so it is `filterby` or nothing.

    ids_in(["a…", "b…"])                       id in (guid'a…',guid'b…')
    both(eq_guid("projectId", p), ge("updatedOn", moment))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time


def guid(value: str) -> str:
    """A `guid'…'` literal."""
    return f"guid'{value}'"


def text(value: str) -> str:
    """A `'…'` text literal (a quote inside written twice)."""
    escaped = value.replace("'", "''")
    return f"'{escaped}'"


def moment(value: datetime) -> str:
    """A `datetime'…'` literal for an instant, in UTC as awork's examples write it (no offset);
    microseconds only when there are some (OData's `…T…:ss.fffffff` form)."""
    written = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    if value.microsecond:
        written += f".{value.microsecond:06d}"
    return f"datetime'{written}'"


def day_start(day: date) -> str:
    """The `datetime'…'` literal of the first second of `day` (UTC)."""
    return moment(datetime.combine(day, time(0, 0, 0), tzinfo=UTC))


def day_end(day: date) -> str:
    """The `datetime'…'` literal of the last second of `day` (UTC)."""
    return moment(datetime.combine(day, time(23, 59, 59), tzinfo=UTC))


def ids_in(ids: Iterable[str], field: str = "id") -> str:
    """`<field> in (guid'…',…)`: one read of many entities (keep it under ~150 ids: URLs)."""
    return f"{field} in ({','.join(guid(i) for i in ids)})"


def eq_guid(field: str, value: str) -> str:
    return f"{field} eq {guid(value)}"


def ge(field: str, literal: str) -> str:
    return f"{field} ge {literal}"


def le(field: str, literal: str) -> str:
    return f"{field} le {literal}"


def both(*parts: str) -> str:
    """The parts joined with `and` (empty parts left out)."""
    return " and ".join(p for p in parts if p)
