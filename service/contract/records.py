"""What the queue keeps per entry (`PendingRecord`), and one entry to add to it (`IngestItem`, or
on the web app's hot path the `IngestRow` it is written as)."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

LOCKING_PROPERTIES = frozenset({"isbillable", "isbilled", "typeofworkid", "typeofwork"})
"""The properties (lower case) whose change by a person locks a billing attribute for the rules
(`respect_manual_changes`, `workers.apply.locks`): the only ones `changed` needs to hold. A
note's or a duration's change locks nothing, and a record is kept in Redis per entry."""


@dataclass
class PendingRecord:
    """What the queue keeps per entry until a flush: the newest version seen and who changed it.

    `by` holds the authors of the merged events (the worker skips entries only its own API user
    touched: its own writes echoing back); `changed` the PascalCase properties people changed, as
    `<author>|<Property>` (of the `LOCKING_PROPERTIES`); `first_seen_ms` when the queue first
    held it (0: unknown); `failures` how many flushes failed on it unexpectedly (dead-lettered
    after a few); `page` where an interrupted re-evaluation of a project, task or company goes on.
    """

    version: int = 0
    event: str = "timetracking_updated"
    by: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    first_seen_ms: int = 0
    failures: int = 0
    page: int = 0

    def to_dict(self) -> dict[str, object]:
        # the version is a string: Lua numbers are doubles and int64 ticks would lose digits
        data: dict[str, object] = {
            "v": str(self.version),
            "e": self.event,
            "by": self.by,
            "ch": self.changed,
            "ts": self.first_seen_ms,
        }
        if self.failures:
            data["f"] = self.failures
        if self.page:
            data["pg"] = self.page
        return data

    @classmethod
    def from_json(cls, raw: bytes | str) -> PendingRecord:
        data = orjson.loads(raw)
        return cls(
            version=int(data.get("v", 0)),
            event=str(data.get("e", "timetracking_updated")),
            by=[str(b) for b in data.get("by", [])],
            changed=[str(c) for c in data.get("ch", [])],
            first_seen_ms=int(data.get("ts", 0)),
            failures=int(data.get("f", 0)),
            page=int(data.get("pg", 0)),
        )

    def trigger(self) -> str:
        """What caused a decision, for the audit log: `<event> by <authors> (v<version>)`."""
        who = ",".join(self.by) or "unknown"
        return f"{self.event} by {who} (v{self.version})"


def stored(version: int, event: str, by: list[str], changed: list[str], first_seen_ms: int) -> str:
    """A `PendingRecord` as the queue stores it (JSON text), built without the record itself."""
    record = {"v": str(version), "e": event, "by": by, "ch": changed, "ts": first_seen_ms}
    return orjson.dumps(record).decode()


IngestRow = tuple[str, str, str, str]
"""One entry as `Queue.add_rows` writes it: its dedup key ("" for none), its id, its author ("" for
none or several: the ingest tells a person's change from the service's own echo by it) and its
`stored` record."""


@dataclass(frozen=True)
class IngestItem:
    """One entry to merge into `pending`; `dedup_key` None for re-queues without dedup."""

    entry_id: str
    record: PendingRecord
    dedup_key: str | None = None

    def row(self) -> IngestRow:
        by = self.record.by
        record = orjson.dumps(self.record.to_dict()).decode()
        return (self.dedup_key or "", self.entry_id, by[0] if len(by) == 1 else "", record)
