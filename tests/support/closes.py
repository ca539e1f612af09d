"""Helpers for month-end close tests: rules and rates for the sandbox's agency, what a close of a
company's month should bill (worked out from the sandbox and the rules engine, not from the
close's own code), entries arranged into shape, and a sandbox whose writes can be broken."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from service.sandbox import SandboxState, Workspace
from workers.rules import RuleSet, is_running_timer, plan

COMPANY = "Nordlicht Brauerei GmbH"
MONTH = "2026-10"
PERSON = {"id": "0b9c8a41-1111-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Pat", "lastName": "P"}

CLOSE_RULES = """\
version: 1
rules:
  - name: internal-work-is-unbillable
    when: {project.company.name: "Our Agency GmbH"}
    then: {billable: false}
  - name: webshop-is-billable
    when: {project.name: "Nordlicht Webshop"}
    then: {billable: true}
  - name: calls-are-meetings
    when: {note: {matches: "(?i)\\\\b(meeting|call)\\\\b"}}
    then: {type_of_work: {name: "Meeting"}}
"""
"""Rules that leave some entries of the company unbillable, and have changes pending."""

FLAT_RATES = """\
version: 1
currency: EUR
rates:
  - when: {}
    hourly: 100
"""


def entries_of(ws: Workspace, company: str = COMPANY, month: str = MONTH) -> list[dict[str, Any]]:
    """The sandbox's entries of `company` whose local start date is in `month`."""
    return [
        e
        for e in ws.entries.values()
        if str(e.get("startDateLocal") or "")[:7] == month
        and ((e.get("project") or {}).get("company") or {}).get("name") == company
    ]


def expected_close(ws: Workspace, rules: RuleSet, **kw: str) -> set[str]:
    """The entries a close of the month should bill: finished, billable and unbilled once the
    rules are applied, with a duration of 1 s to 10 h, a note and a project."""
    found = set()
    for entry in entries_of(ws, **kw):
        if is_running_timer(entry):
            continue
        decided = {c.attribute: c.new for c in plan(entry, rules)}
        billable = decided.get("billable", entry["isBillable"])
        billed = decided.get("billed", entry["isBilled"]) and billable
        duration = entry.get("duration") or 0
        note = (entry.get("note") or "").strip()
        if billable and not billed and 0 < duration <= 36_000 and note and entry.get("projectId"):
            found.add(entry["id"])
    return found


def minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)


def snapshot_of(ws: Workspace) -> dict[str, dict[str, Any]]:
    """A deep copy of every entry, to compare with afterwards."""
    return copy.deepcopy(ws.entries)


def start_at(
    entry: dict[str, Any], local_day: str, local_time: str, utc_day: str, utc_time: str
) -> None:
    """Move `entry` to start at the given local and UTC moments (one hour long, finished)."""
    entry.update(
        startDateLocal=f"{local_day}T00:00:00",
        startTimeLocal=local_time,
        startDateUtc=f"{utc_day}T00:00:00Z",
        startTimeUtc=utc_time,
        endDateLocal=f"{local_day}T00:00:00",
        endTimeLocal=_plus_hour(local_time),
        endDateUtc=f"{utc_day}T00:00:00Z",
        endTimeUtc=_plus_hour(utc_time),
        duration=3600,
    )


def make_running(entry: dict[str, Any]) -> None:
    """Turn `entry` into a timer still running (no end, no duration)."""
    for key in ("endDateUtc", "endTimeUtc", "endDateLocal", "endTimeLocal"):
        entry[key] = None
    entry["duration"] = 0


def _plus_hour(clock: str) -> str:
    hour = int(clock[:2]) + 1
    return f"{min(hour, 23):02d}{clock[2:]}"


@dataclass
class BreakableWrites:
    """The sandbox, answering 500 to every `batch/setIsBilled` once `broken_after` of them
    were answered (None: never); reads and other writes keep working."""

    app: ASGIApp
    state: SandboxState
    broken_after: int | None = None
    posts: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/batch/setIsBilled"):
            self.posts += 1
            if self.broken_after is not None and self.posts > self.broken_after:
                await _answer_500(send)
                return
        await self.app(scope, receive, send)


async def _answer_500(send: Send) -> None:
    body = b'{"code":"server-error","description":"broken on purpose","link":""}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def ids(rows: Iterable[dict[str, Any]], key: str = "id") -> set[str]:
    return {str(r[key]) for r in rows}
