"""The guard on closed entries (issue 12): after a month-end close (`workers.close`) the rules
never change its entries, and every change made to one is recorded.

`<prefix>:closed:<entry>` holds, for each entry of a close, the close's reference and the entry's
watched attributes (`WATCHED`: duration, start and end, project, task, user, type of work,
billable, billed) as closed and as last seen. `Billing.apply` hands every batch to
`Guard.screen` first:

- closed entries leave the batch: no rule decides anything for them (counted `closed`);
- a watched attribute that differs from what was last seen is recorded — one audit line per
  attribute (outcome `closed_entry_changed`, rule `close-guard`, old -> new; the trigger names
  the close and who changed it), the metric `awork_billing_closed_entry_changes_total{change}`
  and a warning — and becomes the new "last seen", so each change is recorded once;
- with `CLOSE_GUARD_RESTORE=true` an entry a person un-billed (or made unbillable, which
  un-bills it in awork) is set billable and billed again through the writer (audited `applied`).

`Guard.deleted` records the deletion of a closed entry (`change` = `deleted`) the same way. A
note is not watched: it does not change what was invoiced. The close writes the keys after
billing (`ClosedEntries.close`); `close reopen` lifts them (`ClosedEntries.lift`). A closed
entry stays guarded until its close is reopened, or `GUARD_DAYS` after its close or last change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.records import PendingRecord
from workers.apply.audit import AuditEntry, text
from workers.apply.batch import Batch, Pending, Write, entry_version
from workers.apply.recorder import Recorder
from workers.apply.writer import Writer
from workers.rules.engine import Change
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

WATCHED = (
    "duration",
    "startDateUtc",
    "startTimeUtc",
    "endDateUtc",
    "endTimeUtc",
    "projectId",
    "taskId",
    "userId",
    "typeOfWorkId",
    "isBillable",
    "isBilled",
)
"""What counts as a change of a closed entry (issue 12), as awork names it; and `deleted`."""
IDS = frozenset({"projectId", "taskId", "userId", "typeOfWorkId"})
OUTCOME = "closed_entry_changed"
RULE = "close-guard"

Difference = tuple[str, Any, Any]
"""(attribute, was, now)."""


def watched(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The watched attributes of `entry` (ids lower-case, so only real changes differ)."""
    state: dict[str, Any] = {}
    for name in WATCHED:
        value = entry.get(name)
        state[name] = value.lower() if name in IDS and isinstance(value, str) else value
    return state


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Difference]:
    """The watched attributes that differ, in `WATCHED` order."""
    return [(n, before.get(n), after.get(n)) for n in WATCHED if before.get(n) != after.get(n)]


@dataclass(frozen=True)
class Closed:
    """One closed entry: its close, its version after billing, its state then and last seen."""

    reference: str
    version: int
    state: dict[str, Any]
    seen: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False

    def to_json(self) -> bytes:
        return orjson.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Closed:
        data = orjson.loads(raw)
        state = dict(data.get("state") or {})
        return cls(
            reference=str(data["reference"]),
            version=int(data.get("version", 0)),
            state=state,
            seen=dict(data.get("seen") or state),
            deleted=bool(data.get("deleted", False)),
        )


@dataclass(frozen=True)
class _Look:
    """One closed entry looked at: its record as now seen, the audit lines, the restores."""

    entry_id: str
    closed: Closed
    lines: list[AuditEntry]
    restores: list[Write]


GUARD_DAYS = 400
"""How long a closed entry is watched after its close (or its last recorded change): past a
year's books, so that no per-entry key lives forever in Redis. The close's record (the
business record, `workers.close`) has no TTL."""


class ClosedEntries:
    """The `<prefix>:closed:<entry>` keys of one installation."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def read(self, entry_ids: Sequence[str]) -> dict[str, Closed]:
        """The closed ones among `entry_ids`, in one round trip."""
        if not entry_ids:
            return {}
        values = await self._redis.mget([self._key(i) for i in entry_ids])
        return {i: Closed.from_json(v) for i, v in zip(entry_ids, values, strict=True) if v}

    async def close(self, reference: str, entries: Sequence[Mapping[str, Any]]) -> None:
        """Guard `entries` (as awork holds them after billing) for the close `reference`."""
        closed = [
            (str(e["id"]), Closed(reference, entry_version(e), watched(e), watched(e)))
            for e in entries
        ]
        await self.save(closed)

    async def lift(self, reference: str, entry_ids: Sequence[str]) -> list[str]:
        """Stop guarding those of `entry_ids` closed by `reference`; the ids lifted."""
        closed = await self.read(entry_ids)
        mine = [i for i, c in closed.items() if c.reference == reference]
        if mine:
            await self._redis.delete(*[self._key(i) for i in mine])
        return mine

    async def save(self, closed: Sequence[tuple[str, Closed]]) -> None:
        """Store each (entry id, `Closed`)."""
        if not closed:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, item in closed:
                pipe.set(self._key(entry_id), item.to_json(), ex=GUARD_DAYS * 86_400)
            await pipe.execute()

    def _key(self, entry_id: str) -> str:
        return self._keys.closed(entry_id.lower())  # awork's ids, however a webhook spelled them


class Guard:
    """What `Billing` does with closed entries (module docstring)."""

    def __init__(
        self,
        store: ClosedEntries,
        recorder: Recorder,
        writer: Writer,
        metrics: WorkerMetrics,
        *,
        restore: bool,
    ) -> None:
        self.store = store
        self._recorder = recorder
        self._writer = writer
        self._metrics = metrics
        self._restore = restore

    async def screen(self, items: Sequence[Pending], batch: Batch) -> list[Pending]:
        """`items` the rules may decide on: all but the closed ones, whose changes are recorded."""
        closed = await self.store.read([item.entry_id for item in items])
        if not closed:
            return list(items)
        mine = [(item, closed[item.entry_id]) for item in items if item.entry_id in closed]
        batch.count("closed", len(mine))
        looks = [self._look(item, known, batch.job_id) for item, known in mine]
        changed = [look for look in looks if look.lines]
        await self._record([line for look in changed for line in look.lines], batch)
        await self.store.save([(look.entry_id, look.closed) for look in changed])
        await self._writer.write([w for look in changed for w in look.restores], batch)
        return [item for item in items if item.entry_id not in closed]

    async def deleted(self, records: Mapping[str, PendingRecord], batch: Batch) -> None:
        """Record the deletion of the closed entries among `records` (once each)."""
        closed = await self.store.read(list(records))
        gone = [(i, c) for i, c in closed.items() if not c.deleted]
        lines = [
            _line(i, ("deleted", False, True), _trigger(c, records[i]), batch.job_id)
            for i, c in gone
        ]
        await self._record(lines, batch)
        await self.store.save([(i, dataclasses.replace(c, deleted=True)) for i, c in gone])

    def _look(self, item: Pending, known: Closed, job: str) -> _Look:
        """What changed on a closed entry since last seen, and (restore on) what to write back."""
        now = watched(item.entry)
        changed = differences(known.seen, now)
        trigger = _trigger(known, item.record)
        restores: list[Write] = []
        if self._restore and _unbilled(changed):
            restores = _restores(item, trigger)
            now = {**now, "isBillable": True, "isBilled": True}
        lines = [_line(item.entry_id, d, trigger, job) for d in changed]
        return _Look(item.entry_id, dataclasses.replace(known, seen=now), lines, restores)

    async def _record(self, lines: Sequence[AuditEntry], batch: Batch) -> None:
        if not lines:
            return
        await self._recorder.audit.record(lines)
        batch.count(OUTCOME, len(lines))
        for line in lines:
            self._metrics.closed_entry_changes.labels(line.attribute).inc()
            extra = {"entry_id": line.entry, "attribute": line.attribute, "event": line.trigger}
            message = "closed entry changed: %s %s %s -> %s (%s)"
            args = (line.entry, line.attribute, line.old, line.new, line.trigger)
            log.warning(message, *args, extra=extra)


def _trigger(closed: Closed, record: PendingRecord) -> str:
    """`close <reference>: <event> by <who> (v<version>)`: which close, and who changed it."""
    return f"close {closed.reference}: {record.trigger()}"


def _line(entry_id: str, difference: Difference, trigger: str, job: str) -> AuditEntry:
    name, was, now = difference
    return AuditEntry(entry_id, RULE, name, text(was), text(now), OUTCOME, trigger, job)


def _unbilled(changed: Sequence[Difference]) -> bool:
    """A person un-billed the entry: billed, or billable (awork then un-bills it), went false."""
    return any(name in ("isBilled", "isBillable") and now is False for name, _, now in changed)


def _restores(item: Pending, trigger: str) -> list[Write]:
    entry = item.entry
    writes = []
    if entry.get("isBillable") is not True:
        change = Change(item.entry_id, "billable", entry.get("isBillable"), True, RULE)
        writes.append(Write(change, item.version, trigger))
    change = Change(item.entry_id, "billed", entry.get("isBilled"), True, RULE)
    writes.append(Write(change, item.version, trigger))
    return writes
