"""Drift: the entries of a close changed or deleted since it billed them, measured against the
version recorded after billing (SPEC §6a) — what `close show` reports next to the totals.

A drifted entry names what changed: `deleted`, or the watched attributes that differ
(`workers.apply.guard.WATCHED`, and the note), comma-separated — or `other` when only something
else changed (its version moved, e.g. a tag of its project). Closed and current seconds are
awork's `duration` then and now (current None for a deleted entry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workers.apply.batch import entry_version
from workers.apply.guard import differences, watched
from workers.close.lines import seconds_of
from workers.close.reading import reread
from workers.close.record import Billed, CloseRecord
from workers.process import ProcessContext


@dataclass(frozen=True)
class Drift:
    entry_id: str
    change: str
    closed_seconds: int
    current_seconds: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry_id,
            "change": self.change,
            "closed_seconds": self.closed_seconds,
            "current_seconds": self.current_seconds,
        }


def drift(entries: Sequence[Billed], current: Mapping[str, Mapping[str, Any]]) -> list[Drift]:
    """The drift of closed `entries`, given what awork holds now (`current`, by id)."""
    found = []
    for billed in entries:
        line = billed.line
        now = current.get(line.entry_id)
        if now is None:
            found.append(Drift(line.entry_id, "deleted", line.seconds, None))
        elif entry_version(now) != billed.version:
            changed = [name for name, _, _ in differences(billed.state, watched(now))]
            if str(now.get("note") or "") != line.note:
                changed.append("note")
            change = ",".join(changed) or "other"
            found.append(Drift(line.entry_id, change, line.seconds, seconds_of(now)))
    return found


async def measure(process: ProcessContext, record: CloseRecord) -> list[Drift]:
    """Read the close's entries again (in bulk) and measure their drift."""
    ids = [billed.line.entry_id for billed in record.entries]
    return drift(record.entries, await reread(process, record.selection, ids))
