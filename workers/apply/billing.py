"""Billing: entries in, the rules' decisions applied — the one path every writer takes.

`Billing.apply(items, batch)` is what the flush, the reconciliation sweep, an entity change
(project, task, company) and a backfill all do with the entries in hand:

1. record the attributes people changed by hand and read every lock (`respect_manual_changes`),
2. load the workspace data the rules read (tags, custom fields, …) and evaluate the rules,
3. keep a rule error for an operator (dead letter `rule_error`),
4. audit what the locks prevented (`manual_kept`),
5. write the changes in bulk (`workers.apply.writer`).

`Billing.evaluate` is its read-only half (`simulate`). `Billing.start` resolves what the rules
and the echo check need from awork: the API user (`GET /me`) and the types of work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from service.contract.records import PendingRecord
from workers.apply.audit import AuditLog
from workers.apply.batch import Batch, Pending, Write
from workers.apply.deadletters import DeadLetter, DeadLetters
from workers.apply.fences import Fences
from workers.apply.guard import ClosedEntries, Guard
from workers.apply.locks import ManualLocks
from workers.apply.recorder import Recorder
from workers.apply.workspace import Workspace
from workers.apply.writer import Writer
from workers.awork.client import AworkClient
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
        self.records = Recorder(
            AuditLog(redis, keys.audit, settings.audit_max_len),
            DeadLetters(redis, keys.dead),
            process.metrics,
        )
        self.writer = Writer(
            process.awork,
            Fences(redis, keys),
            self.records,
            chunk_size=settings.awork_bulk_chunk_size,
            dry_run=settings.dry_run,
        )
        # the month-end close's guard on closed entries (workers.apply.guard)
        restore = settings.close_guard_restore
        closed = ClosedEntries(redis, keys)
        self.guard = Guard(closed, self.records, self.writer, process.metrics, restore=restore)

    @classmethod
    async def start(cls, process: ProcessContext) -> Billing:
        """Load `RULES_FILE`, ask awork who we are and resolve type-of-work names.

        Raises `SettingsError` / `RulesError` / `AworkError` when the service cannot work.
        """
        rules = load_rules(process.settings.rules_file)
        me = str((await process.awork.me())["id"])
        rules = await resolve_types(process.awork, rules)
        await process.redis.set(process.keys.me, me)
        return cls(process, rules, me)

    async def evaluate(
        self, entries: Sequence[dict[str, Any]], locked: Locks | None = None
    ) -> list[Evaluation | Exception]:
        """The rules' verdict on each entry (read-only), with the workspace data the rules need
        loaded first. A rule error is returned in place of its entry's evaluation, not raised."""
        rules = self.rules
        await self.workspace.enrich(entries, rules.fields())
        locked = locked or {}
        results: list[Evaluation | Exception] = []
        for entry in entries:
            lock = locked.get(str(entry.get("id")), frozenset())
            try:
                results.append(evaluate(entry, rules, locked=lock))
            except Exception as e:  # a rule must never stop the batch
                results.append(e)
        return results

    async def apply(self, items: Sequence[Pending], batch: Batch) -> None:
        """Apply the rules to `items` and write the changes (module docstring)."""
        items = await self.guard.screen(items, batch)  # closed entries: recorded, never changed
        locked: Locks = {}
        if self.rules.respect_manual_changes:
            locked = await self.locks.record_and_read(items, self.me)
        evaluations = await self.evaluate([item.entry for item in items], locked)
        writes: list[Write] = []
        errors: list[DeadLetter] = []
        for item, evaluation in zip(items, evaluations, strict=True):
            if isinstance(evaluation, Exception):  # keep the entry for an operator
                errors.append(DeadLetter(item.entry_id, "rule_error", repr(evaluation)))
                continue
            trigger = item.record.trigger()
            writes += [Write(change, item.version, trigger) for change in evaluation.changes]
            batch.count("changed" if evaluation.changes else "unchanged")
        await self.records.dead_lettered(errors)
        if locked:
            await self.records.audited(self._kept(items, locked), "manual_kept", batch)
        await self.writer.write(writes, batch)

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


async def resolve_types(awork: AworkClient, rules: RuleSet) -> RuleSet:
    """`rules` with every type-of-work name replaced by awork's id (unknown name: RulesError)."""
    if not rules.type_of_work_names():
        return rules
    types = await awork.types_of_work()
    return rules.resolve_types({str(t["name"]): str(t["id"]) for t in types if t.get("name")})
