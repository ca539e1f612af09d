"""Which entries of a period a close bills — pure: an entry and the rules' verdict on it in,
its fate out.

The close works on what the rules decide: an entry whose rules are not yet applied counts as what
it will be (`as_ruled`: the rules' changes applied to a copy; making an entry unbillable
un-bills it, as awork does). Then:

    rule_error, running_timer     held back, always (nothing is known / it is still running)
    already_closed                held back, always: billable and not billed, but an entry of
                                  another close (`closed_by`) that a person un-billed since —
                                  billing it here would invoice it twice; the rules never change
                                  it (the guard), so it is judged as awork holds it
    unbillable                    left alone (after the rules)
    billed                        left alone: billed already, or the rules will bill it
    anomalies                     held back unless `--include-anomalies`:
                                  no_duration (zero or missing), no_note (billable without a
                                  note), over_10h (longer than 10 h), no_project
    close                         billable, not billed, finished: billed by the commit

Running timers are reported whatever their billability (the rules leave them alone until they
stop, so it is not known yet); the other anomalies only among entries that would be billed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workers.close.lines import seconds_of
from workers.rules.engine import Change, Evaluation, is_running_timer

Fate = Literal["close", "held", "billed", "unbillable"]
ALWAYS_HELD = ("rule_error", "running_timer", "already_closed")
ANOMALIES = ("no_duration", "no_note", "over_10h", "no_project")
TEN_HOURS = 10 * 3600


@dataclass(frozen=True)
class Verdict:
    """The fate of one entry, the entry as the rules leave it, and the rules' pending changes."""

    entry_id: str
    fate: Fate
    ruled: dict[str, Any]
    changes: tuple[Change, ...] = ()
    reasons: tuple[str, ...] = ()
    """Why it is held back (or, with `--include-anomalies`, what is odd about it)."""
    closed_by: str | None = None
    """The reference of the close the entry belongs to, if any."""


def judge(
    entry: dict[str, Any],
    evaluation: Evaluation | Exception,
    type_names: Mapping[str, str],
    *,
    include_anomalies: bool,
    closed_by: str | None = None,
) -> Verdict:
    """The fate of `entry` given the rules' `evaluation` (module docstring); `closed_by`: the
    close that holds it, if one does."""
    entry_id = str(entry.get("id") or "").lower()
    if closed_by is not None:
        return _closed(entry_id, entry, closed_by)
    if isinstance(evaluation, Exception):
        return Verdict(entry_id, "held", entry, reasons=("rule_error",))
    if is_running_timer(entry):
        return Verdict(entry_id, "held", entry, reasons=("running_timer",))
    changes = evaluation.changes
    ruled = as_ruled(entry, changes, type_names)
    if ruled.get("isBillable") is not True:
        return Verdict(entry_id, "unbillable", ruled, changes)
    if ruled.get("isBilled") is True:
        return Verdict(entry_id, "billed", ruled, changes)
    reasons = anomalies(ruled)
    fate: Fate = "held" if reasons and not include_anomalies else "close"
    return Verdict(entry_id, fate, ruled, changes, reasons)


def _closed(entry_id: str, entry: dict[str, Any], reference: str) -> Verdict:
    """An entry of another close: as awork holds it (the rules never change it)."""
    if entry.get("isBillable") is not True:
        return Verdict(entry_id, "unbillable", entry, closed_by=reference)
    if entry.get("isBilled") is True:
        return Verdict(entry_id, "billed", entry, closed_by=reference)
    return Verdict(entry_id, "held", entry, reasons=("already_closed",), closed_by=reference)


def as_ruled(
    entry: Mapping[str, Any], changes: tuple[Change, ...], type_names: Mapping[str, str]
) -> dict[str, Any]:
    """A copy of `entry` with the rules' `changes` made (type-of-work names from `type_names`)."""
    ruled = dict(entry)
    for change in changes:
        if change.attribute == "billable":
            ruled["isBillable"] = change.new
            if change.new is False:  # awork un-bills an entry made unbillable
                ruled["isBilled"] = False
        elif change.attribute == "billed":
            ruled["isBilled"] = change.new
        else:
            ruled["typeOfWorkId"] = change.new
            nested = {**(entry.get("typeOfWork") or {}), "id": change.new}
            ruled["typeOfWork"] = {**nested, "name": type_names.get(str(change.new))}
    return ruled


def anomalies(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """What is odd about an entry about to be billed (module docstring)."""
    found = []
    seconds = seconds_of(entry)
    if seconds <= 0:
        found.append("no_duration")
    note = entry.get("note")
    if not (isinstance(note, str) and note.strip()):
        found.append("no_note")
    if seconds > TEN_HOURS:
        found.append("over_10h")
    if not entry.get("projectId"):
        found.append("no_project")
    return tuple(found)
