"""Timers as awork runs them (`/me/timetracking/*`, `/users/{id}/timetracking/*`, api-notes 2.8).

A running timer is an entry with a start, no end and duration 0. Behaviour, from awork's
reference where it speaks and the sandbox's reading where it does not:
- start: "if there is already a running/paused time tracking it will be stopped automatically";
  then a new running entry starts now from a `StartTimeTrackingForm` (`isBillable` defaults as
  for `POST /timeentries`);
- stop: ends the running timer now, closing an open break; duration = end - start - breaks;
- pause: opens a break `{startDate}` (no end, no duration); "if there is already a paused time
  tracking nothing happens";
- resume: closes the open break (`endDate`, `duration`) and adds it to `breakDuration`; a timer
  that is not paused is left alone;
- remove breaks: drops every break, "effectively resuming the timer" when it was paused; a
  finished entry keeps its start and end, so its duration grows by the breaks removed;
- 24 h: "timers stop automatically after 24 h". A stop never ends a timer later than 24 h after
  its start, and timers started through the API are stopped at start + 24 h by themselves
  (`expire`, run before every API call). The seeded running timers are a snapshot taken at the
  seed's fixed moment: they run until someone stops them (their stop is capped at 24 h too).
- a user with several running timers (the seed can have that): the newest start is "the" timer.
"""

from __future__ import annotations

from typing import Any

from service.sandbox import forms, timing
from service.sandbox.clock import now_ticks, parse_ticks
from service.sandbox.models import Entity
from service.sandbox.workspace import Change, Workspace

LIMIT = 24 * 3600 * timing.SECOND


def running(ws: Workspace, user_id: str) -> Entity | None:
    """The user's running (or paused) timer, the newest if there are several."""
    timers = [e for e in ws.entries.values() if e.get("userId") == user_id and timing.is_running(e)]
    return max(timers, key=lambda e: timing.start_of(e) or 0, default=None)


def start(ws: Workspace, user_id: str, form: dict[str, Any], by: Entity) -> Entity:
    """A new running timer for `user_id` (store and return it); stop the old one first."""
    refs = forms.references(ws, {**form, "userId": user_id}, None)
    entry = forms.entry_of(ws, form, refs, (now_ticks(), None, 0))
    ws.add_entry(entry, by=by)
    ws.live_timers.add(entry["id"])
    return entry


def stop(ws: Workspace, entry: Entity, by: Entity, at: int | None = None) -> list[Change]:
    """End a running timer at `at` (default now), at most 24 h after its start."""
    begin = timing.start_of(entry) or now_ticks()
    end = max(min(at if at is not None else now_ticks(), begin + LIMIT), begin)
    breaks = [_closed(b, end) for b in entry.get("breaks") or []]
    paused = sum(b["duration"] or 0 for b in breaks)
    worked = max((end - begin) // timing.SECOND - paused, 0)
    tz = timing.zone(entry.get("timezone") or "UTC")
    values = {
        **timing.fields(begin, end, tz),
        "duration": worked,
        "breaks": breaks,
        "breakDuration": paused,
    }
    ws.live_timers.discard(entry["id"])
    return ws.update_entry(entry["id"], values, by=by)


def pause(ws: Workspace, entry: Entity, by: Entity) -> list[Change]:
    breaks = list(entry.get("breaks") or [])
    if any(b.get("endDate") is None for b in breaks):
        return []
    breaks.append({"startDate": timing.iso(now_ticks()), "endDate": None, "duration": None})
    return ws.update_entry(entry["id"], {"breaks": breaks}, by=by)


def resume(ws: Workspace, entry: Entity, by: Entity) -> list[Change]:
    breaks = entry.get("breaks") or []
    if all(b.get("endDate") is not None for b in breaks):
        return []
    now = now_ticks()
    closed = [_closed(b, now) for b in breaks]
    paused = sum(b["duration"] or 0 for b in closed)
    return ws.update_entry(entry["id"], {"breaks": closed, "breakDuration": paused}, by=by)


def remove_breaks(ws: Workspace, entry: Entity, by: Entity) -> list[Change]:
    values: dict[str, Any] = {"breaks": [], "breakDuration": 0}
    if not timing.is_running(entry):
        values["duration"] = (entry.get("duration") or 0) + (entry.get("breakDuration") or 0)
    return ws.update_entry(entry["id"], values, by=by)


def expire(ws: Workspace) -> list[tuple[str, list[Change], Entity]]:
    """Stop API-started timers that have run 24 h: `(entry id, changes, stopped by)` each."""
    now = now_ticks()
    stopped = []
    for entry_id in sorted(ws.live_timers):
        entry = ws.entries.get(entry_id)
        begin = timing.start_of(entry) if entry is not None else None
        if entry is None or begin is None or not timing.is_running(entry):
            ws.live_timers.discard(entry_id)
        elif begin + LIMIT <= now:
            owner = ws.users.get(entry.get("userId") or "", ws.api_user)
            stopped.append((entry_id, stop(ws, entry, owner, begin + LIMIT), owner))
    return stopped


def last(ws: Workspace, user_id: str) -> Entity | None:
    """ "The last one that was started. Time entries which are started in the future are
    ignored"; an entry without a start time counts from midnight (`timing.start_of`)."""
    now = now_ticks()
    started = [
        (timing.start_of(e), e.get("createdOn") or "", e)
        for e in ws.entries.values()
        if e.get("userId") == user_id
    ]
    past = [(s, c, e) for s, c, e in started if s is not None and s <= now]
    return max(past, key=lambda item: (item[0], item[1]))[2] if past else None


def _closed(item: dict[str, Any], at: int) -> dict[str, Any]:
    """A break, closed at `at` when it is still open."""
    if item.get("endDate") is not None:
        return dict(item)
    begin = parse_ticks(item["startDate"]) or at
    return {**item, "endDate": timing.iso(at), "duration": max((at - begin) // timing.SECOND, 0)}
