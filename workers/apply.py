"""Turning rule decisions into the fewest awork calls, and recording what happened.

Changes are grouped by (attribute, value) — awork's bulk operations set one attribute to one value
for many entries — in the order billable, billed, type of work, and sent in chunks of
`AWORK_BULK_CHUNK_SIZE` ids. Every applied change goes to the audit log; what awork refuses goes to
the dead letters with its reason; `DRY_RUN` audits the would-be changes and calls nothing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.queue import PendingRecord
from workers import audit, deadletters, fences
from workers.audit import AuditEntry
from workers.awork import AworkRejected, BatchResult
from workers.concurrency import gather_limited
from workers.context import WorkerApp
from workers.deadletters import DeadLetter
from workers.rules import Attribute, Change, Evaluation, evaluate

log = logging.getLogger(__name__)

ORDER = {"billable": 0, "billed": 1, "type_of_work": 2}
PHASES = (("billable", "type_of_work"), ("billed",))


@dataclass
class Batch:
    """What one flush did, counted by outcome (returned as the job result and logged)."""

    job_id: str
    counts: dict[str, int] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    """`resourceVersion` each decision was based on (for the write fences)."""

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + n


def entry_version(entry: Mapping[str, Any]) -> int:
    """An entry's `resourceVersion` (0 when awork sent none or something else)."""
    value = entry.get("resourceVersion")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def evaluate_entries(
    app: WorkerApp,
    entries: Sequence[dict[str, Any]],
    locked: Mapping[str, frozenset[Attribute]] | None = None,
) -> list[Evaluation | Exception]:
    """The rules' verdict on each entry (read-only): with the workspace data the rules need
    loaded first. A rule error is returned in place of its entry's evaluation, not raised."""
    await app.lookups.enrich(entries, app.rules.fields())
    locked = locked or {}
    results: list[Evaluation | Exception] = []
    for entry in entries:
        lock = locked.get(str(entry.get("id")), frozenset())
        try:
            results.append(evaluate(entry, app.rules, locked=lock))
        except Exception as e:  # a rule must never stop the batch
            results.append(e)
    return results


async def apply_changes(
    app: WorkerApp,
    fresh: list[tuple[dict[str, Any], PendingRecord]],
    batch: Batch,
    locked: Mapping[str, frozenset[Attribute]] | None = None,
) -> None:
    """Evaluate the rules on `fresh` entries and apply the changes in bulk; attributes in
    `locked` (set by people, `respect_manual_changes`) are left as they are, and audited."""
    changes: list[Change] = []
    evaluations = await evaluate_entries(app, [entry for entry, _ in fresh], locked)
    for (entry, record), evaluation in zip(fresh, evaluations, strict=True):
        batch.triggers[str(entry["id"])] = _trigger(record)
        batch.versions[str(entry["id"])] = entry_version(entry)
        if isinstance(evaluation, Exception):  # keep the entry for an operator
            await _dead(app, [DeadLetter(str(entry["id"]), "rule_error", repr(evaluation))])
            continue
        changes += evaluation.changes
        batch.count("unchanged" if not evaluation.changes else "changed")
    if locked:
        await _audit(app, _kept(app, fresh, locked), "manual_kept", batch)
    await write_grouped(app, changes, batch)


async def write_grouped(app: WorkerApp, changes: Sequence[Change], batch: Batch) -> None:
    """One bulk call per (attribute, value) chunk, several in flight. `billed` goes after
    `billable` (awork clears isBilled on an entry made unbillable); type of work is independent
    of both and goes with `billable`."""
    size = app.settings.awork_bulk_chunk_size
    groups: dict[tuple[str, bool | str], list[Change]] = defaultdict(list)
    for change in changes:
        groups[(change.attribute, change.new)].append(change)
    for phase in PHASES:
        parts = [group[i : i + size] for key, group in sorted(groups.items(), key=_order)
                 if key[0] in phase for i in range(0, len(group), size)]  # fmt: skip
        await gather_limited(functools.partial(_write, app, part, batch) for part in parts)


def _order(item: tuple[tuple[str, bool | str], list[Change]]) -> tuple[int, str]:
    (attribute, value), _ = item
    return ORDER[attribute], str(value)


def _kept(
    app: WorkerApp,
    fresh: list[tuple[dict[str, Any], PendingRecord]],
    locked: Mapping[str, frozenset[Attribute]],
) -> list[Change]:
    """The changes rules would have made to attributes people set by hand."""
    kept: list[Change] = []
    for entry, _ in fresh:
        lock = locked.get(str(entry["id"]))
        if lock:
            with contextlib.suppress(Exception):
                kept += [c for c in evaluate(entry, app.rules).changes if c.attribute in lock]
    return kept


async def _write(app: WorkerApp, changes: Sequence[Change], batch: Batch) -> None:
    attribute, value = changes[0].attribute, changes[0].new
    if app.settings.dry_run:
        await _audit(app, changes, "dry_run", batch)
        return
    todo = await fences.unwritten(app, changes, batch.versions)
    if len(todo) < len(changes):
        batch.count("already_written", len(changes) - len(todo))
    if not todo:
        return
    changes = todo
    ids = [c.entry_id for c in changes]
    try:
        result = await app.client.set_attribute(attribute, value, ids)
    except AworkRejected as e:
        letters = [_letter(c, "rejected", str(e), e.status, e.trace_id) for c in changes]
        await _dead(app, letters)
        batch.count("rejected", len(changes))
        return
    await _record_result(app, changes, result, batch)


async def _record_result(
    app: WorkerApp, changes: Sequence[Change], result: BatchResult, batch: Batch
) -> None:
    by_id = {c.entry_id: c for c in changes}
    ok = [by_id[i] for i in result.ok if i in by_id]
    gone = [by_id[i] for i in result.not_found if i in by_id]
    await fences.mark(app, ok, batch.versions)
    await _audit(app, ok, "applied", batch)
    await _audit(app, gone, "not_found", batch)
    letters = [
        _letter(by_id[i], "unauthorized", "awork: permission denied")
        for i in result.unauthorized
        if i in by_id
    ]
    letters += [
        _letter(by_id[i], "bad_request", "awork: bad request")
        for i in result.bad_request
        if i in by_id
    ]
    await _dead(app, letters)


async def _audit(app: WorkerApp, changes: Sequence[Change], outcome: str, batch: Batch) -> None:
    if not changes:
        return
    entries = [
        AuditEntry(
            entry=c.entry_id,
            rule=c.rule,
            attribute=c.attribute,
            old=audit.text(c.old),
            new=audit.text(c.new),
            outcome=outcome,
            trigger=batch.triggers.get(c.entry_id, ""),
            job=batch.job_id,
        )
        for c in changes
    ]
    await audit.record(app.redis, app.keys.audit, entries, app.settings.audit_max_len)
    if log.isEnabledFor(logging.DEBUG):
        for c in changes:
            extra = {"entry_id": c.entry_id, "rule": c.rule, "attribute": c.attribute,
                     "job_id": batch.job_id, "event": batch.triggers.get(c.entry_id)}  # fmt: skip
            log.debug(
                "%s %s: %s -> %s (%s)", outcome, c.entry_id, c.old, c.new, c.rule, extra=extra
            )
    batch.count(outcome, len(changes))
    if outcome in ("applied", "dry_run"):
        for (rule, attribute), n in Counter((c.rule, c.attribute) for c in changes).items():
            app.metrics.changes.labels(rule, attribute).inc(n)


async def _dead(app: WorkerApp, letters: list[DeadLetter]) -> None:
    if not letters:
        return
    await deadletters.add(app.redis, app.keys.dead, letters)
    for reason, n in Counter(d.reason for d in letters).items():
        app.metrics.dead_letters.labels(reason).inc(n)
    for letter in letters:
        log.warning(
            "dead-lettered: %s %s=%s (%s) %s", letter.entry_id, letter.attribute or "-",
            letter.value or "-", letter.reason, letter.error,
            extra={"entry_id": letter.entry_id, "rule": letter.rule, "attribute": letter.attribute,
                   "trace_id": letter.trace_id or None},
        )  # fmt: skip


def _letter(
    change: Change, reason: str, error: str, status: int = 0, trace_id: str | None = None
) -> DeadLetter:
    return DeadLetter(
        entry_id=change.entry_id,
        reason=reason,
        error=error,
        attribute=change.attribute,
        value=audit.text(change.new),
        rule=change.rule,
        status=status,
        trace_id=trace_id or "",
    )


def _trigger(record: PendingRecord) -> str:
    who = ",".join(record.by) or "unknown"
    return f"{record.event} by {who} (v{record.version})"
