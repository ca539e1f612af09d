"""`close commit`: bill exactly what a preview showed — audited, idempotent, resumable.

1. **Start** (under the lease of REF): the record REF is created from the snapshot, whose
   entries it copies; a REF is used once and a snapshot is committed as one REF only.
2. **Check**: the snapshot's entries are read again in bulk; one whose `resourceVersion` changed
   since the preview is left out (`changed_since_preview`; gone: `deleted_since_preview`). The
   choice is saved at once, so a resumed commit never takes its own writes for changes.
3. **Write**, through the workers' writer (fenced, audited with trigger `close REF`, refusals
   dead-lettered): the rules' pending changes of those entries first, then `isBilled: true`
   in chunks (`batch/setIsBilled`).
4. **Finish**: the entries are read once more, as awork holds them after billing; those awork
   did not bill (207 `notFound`, `unauthorized`, `badRequest`) are left out with that reason.
   The guard watches the billed ones from now on (`workers.apply.guard`), the files are written
   (`workers.close.export`) and the record becomes `committed`.

Run again, a committed close writes nothing and returns its record. A commit that stopped
halfway (a crash, awork failing for longer than `AWORK_MAX_ATTEMPTS` tries) continues where it
stopped: the fences keep what was written from being written (and audited) twice.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workers.apply.audit import now_iso
from workers.apply.batch import Batch, Write, entry_version
from workers.apply.guard import ClosedEntries, watched
from workers.apply.writer import Writer
from workers.awork.retry import POLICY
from workers.close.errors import CloseRefused
from workers.close.export import write_files
from workers.close.reading import reread
from workers.close.record import Billed, CloseRecord, Records
from workers.close.snapshot import Planned, Snapshots
from workers.close.writes import Outcomes, close_writer
from workers.process import ProcessContext
from workers.rules.engine import Change

REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A close reference: it names files (`DIR/REF-entries.csv`), so no slashes or spaces."""
RULE = "close"
"""The `rule` of the close's own writes in the audit log (the trigger says which close)."""


@dataclass(frozen=True)
class Commit:
    record: CloseRecord
    repeated: bool
    """The close was committed before: nothing was written this time."""


def check_reference(reference: str) -> None:
    if not REFERENCE.fullmatch(reference):
        message = (
            f"invalid reference {reference!r}: 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it names the files)"
        )
        raise CloseRefused(message, reference=reference)


async def commit(
    process: ProcessContext, close_id: str, reference: str, out_dir: Path, by: str
) -> Commit:
    """Commit snapshot `close_id` as close `reference` (module docstring)."""
    check_reference(reference)
    records = Records(process.redis, process.keys)
    async with records.lease(reference):
        record = await records.load(reference)
        if record is not None and record.close_id != close_id:
            message = f"reference {reference} is already used (by close {record.close_id})"
            raise CloseRefused(message, reference=reference, close_id=close_id)
        if record is not None and record.status != "committing":
            return Commit(record, repeated=True)
        if process.settings.dry_run:
            raise CloseRefused("DRY_RUN is on: a close commit must write; unset DRY_RUN")
        record = record or await _start(process, records, close_id, reference, by)
        if record.selected is None:
            await _check(process, records, record)
        writer, outcomes = close_writer(process)
        await _write(process, writer, outcomes, record)
        await _finish(process, records, record, outcomes, out_dir)
    return Commit(record, repeated=False)


async def _start(
    process: ProcessContext, records: Records, close_id: str, reference: str, by: str
) -> CloseRecord:
    ttl = process.settings.close_snapshot_ttl_days
    snapshot = await Snapshots(process.redis, process.keys, ttl).load(close_id)
    if snapshot is None:
        message = f"unknown close id {close_id} (a preview is kept {ttl} days; preview again)"
        raise CloseRefused(message, reference=reference, close_id=close_id)
    holder = await records.claim(close_id, reference, ttl * 86_400)
    if holder != reference:
        message = f"close {close_id} is already committed as {holder}"
        raise CloseRefused(message, reference=reference, close_id=close_id)
    record = CloseRecord(
        reference=reference,
        close_id=close_id,
        selection=snapshot.selection,
        currency=snapshot.currency,
        by=by,
        started_at=now_iso(),
        planned=snapshot.planned,
    )
    await records.create(record)
    return record


async def _check(process: ProcessContext, records: Records, record: CloseRecord) -> None:
    """Keep the planned entries still in the version previewed; save the choice."""
    current = await reread(process, record.selection, [p.entry_id for p in record.planned])
    record.selected, record.excluded = [], []
    for planned in record.planned:
        now = current.get(planned.entry_id)
        if now is None:
            record.excluded.append({"id": planned.entry_id, "reason": "deleted_since_preview"})
        elif entry_version(now) != planned.version:
            record.excluded.append({"id": planned.entry_id, "reason": "changed_since_preview"})
        else:
            record.selected.append(planned.entry_id)
    await records.save(record)


async def _write(
    process: ProcessContext, writer: Writer, outcomes: Outcomes, record: CloseRecord
) -> None:
    """The rules' pending changes first, then `isBilled: true` (each retried patiently) — not
    for an entry awork refused a rule's change for: it would not be billed as previewed."""
    chosen = _chosen(record)
    trigger = f"close {record.reference}"
    batch = Batch(job_id=f"close:{record.reference}")
    attempts = process.settings.awork_max_attempts
    pending = [Write(c, p.version, trigger) for p in chosen for c in p.changes]
    await POLICY.patiently(functools.partial(writer.write, pending, batch), attempts)
    billed = [Write(_bill(p), p.version, trigger) for p in chosen]
    billed = [w for w in billed if w.entry_id not in outcomes.refused]
    await POLICY.patiently(functools.partial(writer.write, billed, batch), attempts)


async def _finish(
    process: ProcessContext,
    records: Records,
    record: CloseRecord,
    outcomes: Outcomes,
    out_dir: Path,
) -> None:
    """Read back what awork billed, guard it, write the files, mark the record committed."""
    chosen = _chosen(record)
    current = await reread(process, record.selection, [p.entry_id for p in chosen])
    billed: list[Billed] = []
    for planned in chosen:
        now = current.get(planned.entry_id)
        if now is not None and now.get("isBilled") is True:
            billed.append(Billed(planned.line, entry_version(now), watched(now)))
            continue
        reason = outcomes.refused.get(planned.entry_id) or (
            "not_found" if now is None else "not_billed"
        )
        record.excluded.append({"id": planned.entry_id, "reason": reason})
    guard = ClosedEntries(process.redis, process.keys)
    await guard.close(record.reference, [current[b.line.entry_id] for b in billed])
    record.entries, record.committed_at = billed, now_iso()
    record.files = await asyncio.to_thread(write_files, out_dir, record)
    record.status, record.planned = "committed", []
    await records.save(record)


def _chosen(record: CloseRecord) -> Sequence[Planned]:
    selected = set(record.selected or ())
    return [p for p in record.planned if p.entry_id in selected]


def _bill(planned: Planned) -> Change:
    return Change(planned.entry_id, "billed", False, True, RULE)
