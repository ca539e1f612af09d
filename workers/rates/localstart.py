"""When an entry starts in its own local time: the day that decides its month (close period
membership), the day a rate is in effect on, and the `weekday` / `localStartHour` a rates
condition may test.

awork keeps the local start apart from the UTC one: `startDateLocal` (the date, at midnight) and
`startTimeLocal` (`HH:mm:ss[.fffffff]`). Those are used as they are (SPEC §6a). An entry without
them (older payloads) falls back to its start instant — the date of `startDateUtc` with the time
`startTimeUtc` — in its `timezone` (UTC when unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""`weekday` values, Monday first (`date.weekday()` order)."""
LOCAL_FIELDS = frozenset({"weekday", "localStartHour"})
"""The fields a rates condition may read beyond the time entry's own."""


@dataclass(frozen=True)
class LocalStart:
    """The local start of an entry: its day and (when known) its hour, 0–23."""

    day: date
    hour: int | None

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.day.weekday()]


def local_start(entry: Mapping[str, Any]) -> LocalStart | None:
    """The entry's local start (module docstring); None when it has no readable start."""
    day = _day(entry.get("startDateLocal"))
    if day is not None:
        return LocalStart(day, _hour(entry.get("startTimeLocal")))
    instant = _instant(entry)
    if instant is None:
        return None
    local = instant.astimezone(_zone(entry.get("timezone")))
    return LocalStart(local.date(), local.hour)


def with_local_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of `entry` with `weekday` and `localStartHour` set (absent when unknown),
    as rates conditions read them."""
    view = dict(entry)
    start = local_start(entry)
    if start is not None:
        view["weekday"] = start.weekday
        if start.hour is not None:
            view["localStartHour"] = start.hour
    return view


def _day(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _hour(value: object) -> int | None:
    if not isinstance(value, str) or len(value) < 2 or not value[:2].isdigit():
        return None
    hour = int(value[:2])
    return hour if hour < 24 else None


def _instant(entry: Mapping[str, Any]) -> datetime | None:
    day = _day(entry.get("startDateUtc"))
    if day is None:
        return None
    clock = entry.get("startTimeUtc")
    try:
        at = time.fromisoformat(clock[:8]) if isinstance(clock, str) else time(0)
    except ValueError:
        at = time(0)
    return datetime.combine(day, at, tzinfo=UTC)


def _zone(name: object) -> tzinfo:
    if not isinstance(name, str) or not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
