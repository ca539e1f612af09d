"""The one way what happened is recorded: every write (or would-be write) in the audit log with
its metric, every change that could not be made in the dead letters with its metric and a log
line naming the entry.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from workers.apply.audit import AuditEntry, AuditLog, text
from workers.apply.batch import Batch, Write
from workers.apply.deadletters import DeadLetter, DeadLetters
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

CHANGE_OUTCOMES = ("applied", "dry_run")
"""Audit outcomes that count as changes made (`awork_billing_changes_total`)."""


class Recorder:
    """Audit log, dead letters and their metrics, together."""

    def __init__(self, audit: AuditLog, dead: DeadLetters, metrics: WorkerMetrics) -> None:
        self.audit = audit
        self.dead = dead
        self._metrics = metrics

    async def audited(self, writes: Sequence[Write], outcome: str, batch: Batch) -> None:
        """Record `writes` with `outcome` (applied, dry_run, not_found, manual_kept)."""
        if not writes:
            return
        await self.audit.record(_entry(w, outcome, batch.job_id) for w in writes)
        if log.isEnabledFor(logging.DEBUG):
            for w in writes:
                _debug(w, outcome, batch.job_id)
        batch.count(outcome, len(writes))
        if outcome in CHANGE_OUTCOMES:
            counts = Counter((w.change.rule, w.change.attribute) for w in writes)
            for (rule, attribute), n in counts.items():
                self._metrics.changes.labels(rule, attribute).inc(n)

    async def dead_lettered(self, letters: Sequence[DeadLetter]) -> None:
        """Keep `letters` for an operator, count them by reason, log each."""
        if not letters:
            return
        await self.dead.add(letters)
        for reason, n in Counter(d.reason for d in letters).items():
            self._metrics.dead_letters.labels(reason).inc(n)
        for letter in letters:
            extra = {
                "entry_id": letter.entry_id,
                "rule": letter.rule,
                "attribute": letter.attribute,
                "trace_id": letter.trace_id or None,
            }
            attribute, value = letter.attribute or "-", letter.value or "-"
            message = "dead-lettered: %s %s=%s (%s) %s"
            args = (letter.entry_id, attribute, value, letter.reason, letter.error)
            log.warning(message, *args, extra=extra)


def letter(
    write: Write, reason: str, error: str, status: int = 0, trace_id: str | None = None
) -> DeadLetter:
    """The dead letter of a write that could not be made."""
    change = write.change
    return DeadLetter(
        entry_id=change.entry_id,
        reason=reason,
        error=error,
        attribute=change.attribute,
        value=text(change.new),
        rule=change.rule,
        status=status,
        trace_id=trace_id or "",
        first_seen_ms=write.first_seen_ms,
    )


def _entry(write: Write, outcome: str, job: str) -> AuditEntry:
    change = write.change
    return AuditEntry(
        entry=change.entry_id,
        rule=change.rule,
        attribute=change.attribute,
        old=text(change.old),
        new=text(change.new),
        outcome=outcome,
        trigger=write.trigger,
        job=job,
    )


def _debug(write: Write, outcome: str, job: str) -> None:
    change = write.change
    extra = {
        "entry_id": change.entry_id,
        "rule": change.rule,
        "attribute": change.attribute,
        "job_id": job,
        "event": write.trigger,
    }
    args = (outcome, change.entry_id, change.old, change.new, change.rule)
    log.debug("%s %s: %s -> %s (%s)", *args, extra=extra)
