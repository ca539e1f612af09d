"""`close reopen REF`: un-bill a close's entries — audited, the guard lifted, the record marked.

Only admins may un-bill billed entries (api-notes 2.1, 4.3): with any other API key awork
answers `unauthorized` for each, and the reopen stops with that said (exit 1), leaving those
entries billed and guarded; run it again with an admin's key. In order:

1. the guard is lifted for the close's entries (so neither the guard nor its restore answers
   the un-billing as a person's change);
2. the entries are read again in bulk: only those still there and billed are un-billed
   (`isBilled: false` in chunks, through the workers' writer, trigger `reopen REF by USER`);
3. the record becomes `reopened` (when and by whom).

Nothing else is undone: the rules' changes the commit wrote stay (the rules would make them
again), and the files stay where they are. A reopened REF is not used again: a new close of the
period takes a new reference.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from workers.apply.audit import now_iso
from workers.apply.batch import Batch, Write, entry_version
from workers.apply.guard import ClosedEntries
from workers.awork.retry import POLICY
from workers.close.errors import CloseError, CloseRefused
from workers.close.reading import reread
from workers.close.record import CloseRecord, Records
from workers.close.writes import close_writer
from workers.process import ProcessContext
from workers.rules.engine import Change


@dataclass(frozen=True)
class Reopen:
    record: CloseRecord
    unbilled: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    """`{"id", "reason"}`: `deleted`, or `not_billed` (someone un-billed it already)."""
    repeated: bool = False


async def reopen(process: ProcessContext, reference: str, by: str) -> Reopen:
    """Reopen close `reference` (module docstring)."""
    records = Records(process.redis, process.keys)
    async with records.lease(reference):
        record = await records.load(reference)
        if record is None:
            raise CloseRefused(f"unknown close reference {reference}", reference=reference)
        if record.status == "reopened":
            return Reopen(record, repeated=True)
        if record.status != "committed":
            message = f"close {reference} is not committed yet: finish it with close commit"
            raise CloseRefused(message, reference=reference)
        if process.settings.dry_run:
            raise CloseRefused("DRY_RUN is on: a close reopen must write; unset DRY_RUN")
        return await _reopen(process, records, record, by)


async def _reopen(
    process: ProcessContext, records: Records, record: CloseRecord, by: str
) -> Reopen:
    reference = record.reference
    ids = [billed.line.entry_id for billed in record.entries]
    guard = ClosedEntries(process.redis, process.keys)
    await guard.lift(reference, ids)
    current = await reread(process, record.selection, ids)
    billed = [current[i] for i in ids if i in current and current[i].get("isBilled") is True]
    trigger = f"reopen {reference} by {by}"
    writes = [Write(_unbill(str(e["id"]).lower()), entry_version(e), trigger) for e in billed]
    writer, outcomes = close_writer(process)
    batch = Batch(job_id=f"reopen:{reference}")
    step = functools.partial(writer.write, writes, batch)
    await POLICY.patiently(step, process.settings.awork_max_attempts)
    refused = [e for e in billed if str(e["id"]).lower() in outcomes.refused]
    if refused:
        await guard.close(reference, refused)  # still billed: still guarded
        reasons = sorted({outcomes.refused[str(e["id"]).lower()] for e in refused})
        message = (
            f"awork refused to un-bill {len(refused)} of {len(writes)} entries "
            f"({', '.join(reasons)}); only admins may un-bill: use an admin's API key and "
            f"run close reopen {reference} again"
        )
        raise CloseError(message, reference=reference)
    record.status, record.reopened_at, record.reopened_by = "reopened", now_iso(), by
    await records.save(record)
    unbilled = [w.entry_id for w in writes]
    skipped = [
        {"id": i, "reason": "deleted" if i not in current else "not_billed"}
        for i in ids
        if i not in unbilled
    ]
    return Reopen(record, unbilled, skipped)


def _unbill(entry_id: str) -> Change:
    return Change(entry_id, "billed", True, False, "close")
