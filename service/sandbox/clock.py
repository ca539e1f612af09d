"""Time as awork writes it: .NET ticks, ISO 8601 with 7 fractional digits, lenient parsing.

awork is a .NET service: `resourceVersion` is "the ticks in UTC" (100 ns since 0001-01-01) and
time strings carry 7 fractional digits (`2025-07-24T14:28:39.5966465+00:00`, `13:08:51.8220632`),
one more than Python's `datetime` keeps (api-notes 1.3, 2.5, 2.7).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

_EPOCH_TICKS = 621_355_968_000_000_000  # ticks at 1970-01-01T00:00:00Z
_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$"
)


def ticks(moment: datetime) -> int:
    """The .NET ticks of an aware datetime (microsecond precision, so the last digit is 0)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return _EPOCH_TICKS + (delta // timedelta(microseconds=1)) * 10


def now_ticks() -> int:
    """The current time in ticks, with the 100 ns digit Python's datetime cannot hold."""
    return _EPOCH_TICKS + time.time_ns() // 100


def from_ticks(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=(value - _EPOCH_TICKS) // 10)


def iso_ticks(value: int, *, suffix: str = "Z") -> str:
    """`2026-11-02T09:15:00.1234567Z` for a tick count (suffix `+00:00` for envelopes)."""
    moment = from_ticks(value)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{value % 10_000_000:07d}{suffix}"


def iso7(moment: datetime, *, suffix: str = "Z") -> str:
    """An aware datetime as ISO 8601 in UTC with 7 fractional digits."""
    return iso_ticks(ticks(moment.astimezone(UTC)), suffix=suffix)


def parse_datetime(text: str) -> datetime | None:
    """Parse awork's and OData's date-time spellings; naive values are UTC. None if unparsable.

    Accepts 0-9 fractional digits (Python keeps 6), `Z`, `+01:00`, `+0100` or no offset, and a
    bare date.
    """
    parsed = _parse(text)
    return parsed[0] if parsed else None


def parse_ticks(text: str) -> int | None:
    """Like `parse_datetime`, as ticks: keeps the 7th fractional digit."""
    parsed = _parse(text)
    return ticks(parsed[0]) + parsed[1] if parsed else None


def _parse(text: str) -> tuple[datetime, int] | None:
    match = _ISO.match(text.strip())
    if match is None:
        return None
    date, clock, fraction, offset = match.groups()
    stamp = f"{date}T{clock or '00:00'}"
    if clock is not None and clock.count(":") == 1:
        stamp += ":00"
    fraction = fraction or ""
    stamp += "." + fraction[:6].ljust(6, "0")
    if offset in (None, "Z"):
        stamp += "+00:00"
    else:
        stamp += offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    try:
        return datetime.fromisoformat(stamp), int(fraction[6:7] or 0)
    except ValueError:
        return None
