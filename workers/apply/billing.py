"""Billing: entries in, the rules' decisions applied — the one path every writer takes.

`Billing.apply(items, batch)` is what the flush, the reconciliation sweep, an entity change
(project, task, company) and a backfill all do with the entries in hand:

1. refuse stale reads: an entry read in an older version than announced or already seen is
   not decided on (handed back to the caller); the versions read raise the floors,
2. record the attributes people changed by hand and read every lock (`respect_manual_changes`),
3. load the workspace data the rules read (tags, custom fields, …) and evaluate the rules,
4. keep what failed for one entry for an operator (dead letter `rule_error`, or `rejected`
   when awork refused a read the rules need),
5. audit what the locks prevented (`manual_kept`),
6. write the changes in bulk (`workers.apply.writer`: fenced, audited, within the deadline).

`Billing.evaluate` is its read-only half (`simulate`). `Billing.start` resolves what the rules
and the echo check need from awork: the API user (`GET /me`) and the types of work, patiently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from service.contract.records import PendingRecord
from workers.apply import startup
from workers.apply.audit import AuditLog
from workers.apply.batch import Batch, Pending, Write
from workers.apply.deadletters import DeadLetter, DeadLetters
from workers.apply.fences import Fences
from workers.apply.guard import ClosedEntries, Guard
from workers.apply.locks import ManualLocks
from workers.apply.recorder import Recorder
from workers.apply.versions import VersionFloors
from workers.apply.workspace import Workspace
from workers.apply.writer import Writer
from workers.awork.client import AworkClient
from workers.awork.errors import AworkRejected
from workers.process import ProcessContext
from workers.rules.engine import Evaluation, evaluate
from workers.rules.model import Attribute, RuleSet
from workers.rules.parser import load_rules

Locks = Mapping[str, frozenset[Attribute]]


class Billing:
    """The rules in force, the API user, and the records of what was done, for one process."""

    def __init__(self, process: ProcessContext, rules: RuleSet, me: str) -> None:
        self.process = process
        self.rules = rules
        """The rules in force (replaced when the rules file changes)."""
        self.me = me
        """The API user's id: the author of the service's own writes."""
        settings, redis, keys = process.settings, process.redis, process.keys
        self.workspace = Workspace(process.awork, redis, keys, settings.lookup_cache_ttl_seconds)
        self.locks = ManualLocks(redis, keys)
        self.versions = VersionFloors(redis, keys)
        self.records = Recorder(
            AuditLog(redis, keys.audit, settings.audit_max_len),
            DeadLetters(redis, keys.dead),
            process.metrics,
        )
        self.writer = Writer(
            process.awork,
            Fences(redis, keys, claim_seconds=settings.flush_timeout_seconds + 10),
            self.records,
            chunk_size=settings.awork_bulk_chunk_size,
            dry_run=settings.dry_run,
        )
        # the month-end close's guard on closed entries (workers.apply.guard)
        restore = settings.close_guard_restore
        closed = ClosedEntries(redis, keys)
        self.guard = Guard(closed, self.records, self.writer, process.metrics, restore=restore)

    @classmethod
    async def start(cls, process: ProcessContext, *, patient: bool = True) -> Billing:
        """Load `RULES_FILE`, learn who we are and resolve type-of-work names. A worker is
        `patient`: it waits out awork or Redis being unwell (`workers.apply.startup`); an
        operator's command is not, and fails at once.

        Raises `RulesError` (bad rules file) or `AworkError` (awork refuses, or is away and we
        are not patient).
        """
        rules = load_rules(process.settings.rules_file)
        if patient:
            me = await startup.api_user(process)
            rules = await startup.resolve_types_patiently(process, rules)
        else:
            me = str((await process.awork.me())["id"])
            rules = await resolve_types(process.awork, rules)
        return cls(process, rules, me)

    async def evaluate(
        self, entries: Sequence[dict[str, Any]], locked: Locks | None = None
    ) -> list[Evaluation | Exception]:
        """The rules' verdict on each entry (read-only), with the workspace data the rules need
        loaded first. What failed for one entry — a rule error, a read awork refused — is
        returned in place of its evaluation, not raised."""
        rules = self.rules
        failed = await self.workspace.enrich(entries, rules.fields())
        locked = locked or {}
        results: list[Evaluation | Exception] = []
        for entry in entries:
            entry_id = str(entry.get("id"))
            if entry_id in failed:
                results.append(failed[entry_id])
                continue
            try:
                results.append(evaluate(entry, rules, locked=locked.get(entry_id, frozenset())))
            except Exception as e:  # a rule must never stop the batch
                results.append(e)
        return results

    async def apply(self, items: Sequence[Pending], batch: Batch) -> list[Pending]:
        """Apply the rules to `items` and write the changes (module docstring). Returns the
        items read in an older version than one already seen (not decided on: stale)."""
        fresh, stale = await self._fresh(items)
        if stale:
            batch.count("stale", len(stale))
        fresh = await self.guard.screen(fresh, batch)  # closed entries: recorded, never changed
        locked: Locks = {}
        if self.rules.respect_manual_changes:
            locked = await self.locks.record_and_read(fresh, self.me)
        batch.check_time()
        evaluations = await self.evaluate([item.entry for item in fresh], locked)
        writes: list[Write] = []
        letters: list[DeadLetter] = []
        for item, evaluation in zip(fresh, evaluations, strict=True):
            if isinstance(evaluation, Exception):  # keep the entry for an operator
                letters.append(_dead_letter(item, evaluation))
                continue
            trigger = item.record.trigger()
            writes += [Write(change, item.version, trigger) for change in evaluation.changes]
            batch.count("changed" if evaluation.changes else "unchanged")
        await self.records.dead_lettered(letters)
        if locked:
            await self.records.audited(self._kept(fresh, locked), "manual_kept", batch)
        await self.writer.write(writes, batch)
        return stale

    async def _fresh(self, items: Sequence[Pending]) -> tuple[list[Pending], list[Pending]]:
        """Split `items` into those read at least as new as announced and ever seen, and the
        stale rest; the versions read raise the floors."""
        floors = await self.versions.read([item.entry_id for item in items])
        fresh: list[Pending] = []
        stale: list[Pending] = []
        for item in items:
            floor = max(item.record.version, floors.get(item.entry_id, 0))
            (fresh if item.version >= floor else stale).append(item)
        await self.versions.remember(item.entry for item in items)
        return fresh, stale

    async def deleted(self, records: Mapping[str, PendingRecord], batch: Batch) -> None:
        """Entries deleted in awork: the guard records those of a month-end close."""
        await self.guard.deleted(records, batch)

    def _kept(self, items: Sequence[Pending], locked: Locks) -> list[Write]:
        """The changes the rules would have made to attributes people set by hand."""
        kept: list[Write] = []
        for item in items:
            lock = locked.get(item.entry_id)
            if not lock:
                continue
            with contextlib.suppress(Exception):
                changes = evaluate(item.entry, self.rules).changes
                trigger = item.record.trigger()
                kept += [Write(c, item.version, trigger) for c in changes if c.attribute in lock]
        return kept


def _dead_letter(item: Pending, error: Exception) -> DeadLetter:
    if isinstance(error, AworkRejected):  # a read the rules need was refused
        trace = error.trace_id or ""
        return DeadLetter(
            item.entry_id, "rejected", str(error), status=error.status, trace_id=trace
        )
    return DeadLetter(item.entry_id, "rule_error", repr(error))


async def resolve_types(awork: AworkClient, rules: RuleSet) -> RuleSet:
    """`rules` with every type-of-work name replaced by awork's id (unknown name: RulesError)."""
    if not rules.type_of_work_names():
        return rules
    types = await awork.types_of_work()
    return rules.resolve_types({str(t["name"]): str(t["id"]) for t in types if t.get("name")})
