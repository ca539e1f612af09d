"""A time entry's times as awork keeps them: eight date/time strings, a duration and breaks.

Each end of an entry is four strings (api-notes 2.5): `startDateUtc` (the UTC date at midnight,
`2026-11-20T00:00:00Z`), `startTimeUtc` (`09:15:00`, up to 7 fractional digits) and their local
twins `startDateLocal` (`2026-11-20T00:00:00`) / `startTimeLocal`, in the entry's IANA
`timezone`. `duration` is the time worked in seconds: end - start - `breakDuration`. A running
timer has a start, no end and duration 0. Instants are kept as .NET ticks (100 ns, `clock`), so an
entry written back exactly as it was read changes nothing.

Reading a form — choices where awork's docs are silent or terse:
- A start (or an end) comes either as UTC (`…DateUtc` + `…TimeUtc`) or as local time
  (`…DateLocal` + `…TimeLocal`, read in the form's `timezone` with `zoneinfo`); the other group is
  derived. `POST /timeentries` refuses a form mixing the groups (its schema says "Do not mix");
  `PUT` accepts both when they name the same instant (a client writing back what it read) and
  refuses them when they disagree.
- A date without its time field uses the date's own time part (`startDateUtc:
  "2026-11-20T09:15:00Z"` alone works); a bare date means midnight. An end time without an end
  date lies on the start's date, or on the next day when it would not be after the start.
- Finished entries (PUT's text, also applied to POST): start + end (wins over a duration), start +
  duration, or end + duration. The end must be after the start and the worked time positive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.sandbox.clock import from_ticks, parse_ticks
from service.sandbox.models import Entity
from service.sandbox.responses import invalid

SECOND = 10_000_000  # ticks
DAY = 86_400 * SECOND
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_ENDS = ("start", "end")


@dataclass(frozen=True)
class Given:
    """What a form says about an entry's times: instants in UTC ticks, duration in seconds."""

    start: int | None
    end: int | None
    duration: int | None


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, else a 400 naming `timezone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise invalid("timezone", f"Unknown IANA time zone {name!r}.") from e


def read(form: dict[str, Any], tz: ZoneInfo, *, mixing: bool) -> Given:
    """The start, end and duration a form gives (`mixing`: both field groups allowed)."""
    if not mixing:
        _one_group(form)
    start = _instant(form, "start", tz, None)
    end = _instant(form, "end", tz, start)
    return Given(start, end, form.get("duration"))


def finish(given: Given, breaks: int) -> tuple[int, int, int]:
    """`(start, end, duration)` of a finished entry with `breaks` seconds of breaks."""
    start, end, duration = given.start, given.end, given.duration
    if start is not None and end is not None:
        if end <= start:
            raise invalid("endTimeUtc", "The end must be after the start.")
        duration = (end - start) // SECOND - breaks
    elif duration is not None and start is not None:
        end = start + (duration + breaks) * SECOND
    elif duration is not None and end is not None:
        start = end - (duration + breaks) * SECOND
    else:
        raise invalid(
            "duration", "Give a start and an end, a start and a duration, or an end and a duration."
        )
    if duration <= 0:
        raise invalid("duration", "The time worked (end - start - breaks) must be positive.")
    return start, end, duration


def fields(start: int | None, end: int | None, tz: ZoneInfo) -> dict[str, str | None]:
    """The eight date/time strings of an entry (the end ones null for a running timer)."""
    return {**_stamp("start", start, tz), **_stamp("end", end, tz)}


def start_of(entry: Entity) -> int | None:
    """The start instant: the date of `startDateUtc` with the time `startTimeUtc` (midnight
    without one; awork keeps the date at midnight and the time apart)."""
    return _of(entry, "start")


def end_of(entry: Entity) -> int | None:
    return _of(entry, "end")


def is_running(entry: Entity) -> bool:
    """No end and no duration (SPEC 5: a finished entry may carry only a start and a duration)."""
    no_end = not entry.get("endDateUtc") or not entry.get("endTimeUtc")
    return no_end and not entry.get("duration")


def iso(instant: int) -> str:
    """A UTC instant as `2026-11-20T09:15:00.1234567Z` (breaks' `startDate`/`endDate`)."""
    moment = from_ticks(instant)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{instant % SECOND:07d}Z"


def _of(entry: Entity, end: str) -> int | None:
    date = entry.get(f"{end}DateUtc")
    parsed = parse_ticks(date) if isinstance(date, str) else None
    if parsed is None:
        return None
    midnight = _midnight(parsed)
    clock = _clock(entry.get(f"{end}TimeUtc"))
    return midnight + (clock or 0)


def _one_group(form: dict[str, Any]) -> None:
    """ "Do not mix the UTC and local field groups in one request" (`TimeEntryPostForm`)."""
    given = [
        f"{end}{part}{kind}"
        for end in _ENDS
        for kind in ("Utc", "Local")
        for part in ("Date", "Time")
    ]
    present = [name for name in given if form.get(name) is not None]
    local = [name for name in present if name.endswith("Local")]
    if local and len(local) < len(present):
        raise invalid(local[0], "Do not mix the UTC and the local date/time fields.")


def _instant(form: dict[str, Any], end: str, tz: ZoneInfo, start: int | None) -> int | None:
    utc = _group(form, end, "Utc", _Clock(lambda t: t, lambda t: t), start)
    local = _group(
        form, end, "Local", _Clock(lambda w: _utc(w, tz), lambda t: t + _offset(t, tz)), start
    )
    if utc is not None and local is not None and utc != local:
        raise invalid(f"{end}TimeLocal", f"The local {end} is not the UTC {end} in {tz.key}.")
    return utc if utc is not None else local


@dataclass(frozen=True)
class _Clock:
    """A field group's clock: wall-clock ticks to UTC ticks and back."""

    to_utc: Callable[[int], int]
    to_wall: Callable[[int], int]


def _group(
    form: dict[str, Any], end: str, kind: str, clock_of: _Clock, start: int | None
) -> int | None:
    """The instant one field group names, in UTC ticks (None when the group is empty)."""
    date, clock = form.get(f"{end}Date{kind}"), form.get(f"{end}Time{kind}")
    if date is None and clock is None:
        return None
    time_of_day = _clock(clock) if clock is not None else None
    if clock is not None and time_of_day is None:
        raise invalid(f"{end}Time{kind}", "Expected a time as HH:mm:ss[.fffffff].")
    if date is None:
        if start is None:
            raise invalid(f"{end}Date{kind}", f"A {end} time needs a {end} date.")
        return _next_after(start, time_of_day or 0, clock_of)
    wall = _wall(date) if kind == "Local" else parse_ticks(date)
    if wall is None:
        raise invalid(f"{end}Date{kind}", "Expected a date-time (ISO 8601).")
    if time_of_day is not None:
        wall = _midnight(wall) + time_of_day
    return clock_of.to_utc(wall)


def _next_after(start: int, time_of_day: int, clock_of: _Clock) -> int:
    """An end time without a date: on the start's day (in the group's own clock), else the next."""
    day = _midnight(clock_of.to_wall(start))
    candidate = clock_of.to_utc(day + time_of_day)
    return candidate if candidate > start else clock_of.to_utc(day + DAY + time_of_day)


def _stamp(end: str, instant: int | None, tz: ZoneInfo) -> dict[str, str | None]:
    if instant is None:
        return {f"{end}{part}": None for part in ("DateUtc", "TimeUtc", "DateLocal", "TimeLocal")}
    wall = instant + _offset(instant, tz)
    return {
        f"{end}DateUtc": f"{from_ticks(instant):%Y-%m-%d}T00:00:00Z",
        f"{end}TimeUtc": _time_text(instant),
        f"{end}DateLocal": f"{from_ticks(wall):%Y-%m-%d}T00:00:00",
        f"{end}TimeLocal": _time_text(wall),
    }


def _time_text(value: int) -> str:
    fraction = value % SECOND
    tail = f".{fraction:07d}" if fraction else ""
    return f"{from_ticks(value):%H:%M:%S}{tail}"


def _offset(instant: int, tz: ZoneInfo) -> int:
    delta = from_ticks(instant).astimezone(tz).utcoffset() or timedelta(0)
    return int(delta.total_seconds()) * SECOND


def _utc(wall: int, tz: ZoneInfo) -> int:
    """Local wall-clock ticks in `tz` -> UTC ticks (zoneinfo's reading of gaps and folds)."""
    naive = from_ticks(wall).replace(tzinfo=None)
    delta = naive.replace(tzinfo=tz).utcoffset() or timedelta(0)
    return wall - int(delta.total_seconds()) * SECOND


def _wall(text: str) -> int | None:
    """A local date-time's wall clock, ignoring any offset a client may have added."""
    return parse_ticks(_OFFSET.sub("", text.strip()))


def _midnight(value: int) -> int:
    """Midnight of the day of `value` (ticks count whole days from 0001-01-01)."""
    return value - value % DAY


def _clock(text: object) -> int | None:
    """`HH:mm[:ss[.fffffff]]` -> ticks since midnight, None if absent or malformed."""
    match = _TIME.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        return None
    whole = (int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)) * SECOND
    return whole + int((fraction or "")[:7].ljust(7, "0"))
