"""A close's writes go through the workers' own writer (`workers.apply.writer`): grouped bulk
calls in chunks, within the shared rate limit, fenced, every change audited and every refusal
dead-lettered — plus a memory of what awork refused per entry, so that the close can report
which entries it left out and why.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.apply.audit import AuditLog
from workers.apply.batch import Batch, Write
from workers.apply.deadletters import DeadLetter, DeadLetters
from workers.apply.fences import Fences
from workers.apply.recorder import Recorder
from workers.apply.writer import Writer
from workers.process import ProcessContext
from workers.telemetry import WorkerMetrics


class Outcomes(Recorder):
    """Records like every writer does, and keeps `refused`: entry id -> why awork did not make
    the change (`not_found`, `unauthorized`, `bad_request`, `rejected`)."""

    def __init__(self, audit: AuditLog, dead: DeadLetters, metrics: WorkerMetrics) -> None:
        super().__init__(audit, dead, metrics)
        self.refused: dict[str, str] = {}

    async def audited(self, writes: Sequence[Write], outcome: str, batch: Batch) -> None:
        await super().audited(writes, outcome, batch)
        if outcome == "not_found":
            self.refused.update({w.entry_id: outcome for w in writes})

    async def dead_lettered(self, letters: Sequence[DeadLetter]) -> None:
        await super().dead_lettered(letters)
        self.refused.update({letter.entry_id: letter.reason for letter in letters})


def close_writer(process: ProcessContext) -> tuple[Writer, Outcomes]:
    """The writer a close uses, and the outcomes it remembers (never a dry run: a close that
    writes nothing is refused before it starts)."""
    settings, redis, keys = process.settings, process.redis, process.keys
    outcomes = Outcomes(
        AuditLog(redis, keys.audit, settings.audit_max_len),
        DeadLetters(redis, keys.dead),
        process.metrics,
    )
    writer = Writer(
        process.awork,
        Fences(redis, keys),
        outcomes,
        chunk_size=settings.awork_bulk_chunk_size,
        dry_run=False,
    )
    return writer, outcomes
