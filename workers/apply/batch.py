"""What one run decides on and what it did: the entries in hand (`Pending`), the writes decided
for them (`Write`), and the outcomes counted, with the run's deadline (`Batch`).

A write carries the `resourceVersion` and the trigger it was decided on, so that the write
fence (`workers.apply.fences`) and the audit log record exactly what the decision saw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.contract.records import PendingRecord
from workers.rules.engine import Change


def entry_version(entry: Mapping[str, Any]) -> int:
    """An entry's `resourceVersion` (0 when awork sent none or something else)."""
    value = entry.get("resourceVersion")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class Pending:
    """An entry as awork returned it, and what brought it here (a webhook, the sweep, …)."""

    entry: dict[str, Any]
    record: PendingRecord

    @property
    def entry_id(self) -> str:
        return str(self.entry["id"])

    @property
    def version(self) -> int:
        return entry_version(self.entry)

    @classmethod
    def read(cls, entry: dict[str, Any], event: str, by: list[str] | None = None) -> Pending:
        """An entry read by the service itself (`event`: reconcile, backfill, project_updated
        …), its record made from the entry's own version."""
        return cls(entry, PendingRecord(version=entry_version(entry), event=event, by=by or []))


@dataclass(frozen=True)
class Write:
    """One change to write, with the version and the trigger it was decided on."""

    change: Change
    version: int
    trigger: str
    first_seen_ms: int = 0
    """When the queue first saw the change that led here (kept by a dead letter's replay)."""

    @property
    def entry_id(self) -> str:
        return self.change.entry_id


class OutOfTime(Exception):
    """A run reached its deadline before an awork call: what is left is handed back."""


@dataclass
class Batch:
    """What one run did, counted by outcome (a job's result, logged and turned into metrics),
    and when it must stop calling awork (`deadline`, a `time.monotonic()` instant)."""

    job_id: str
    counts: dict[str, int] = field(default_factory=dict)
    deadline: float = math.inf

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + n

    def check_time(self) -> None:
        """Raise `OutOfTime` once the deadline has passed (called before each awork call)."""
        if time.monotonic() > self.deadline:
            raise OutOfTime(f"{self.job_id}: out of time")
