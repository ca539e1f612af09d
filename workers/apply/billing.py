"""Billing: entries in, the rules' decisions applied — the one path every writer takes.

`Billing.apply(items, batch)` is what the flush, the reconciliation sweep, an entity change
(project, task, company) and a backfill all do with the entries in hand:

1. refuse stale reads: an entry read in an older version than announced or already seen is
   not decided on (handed back to the caller); the versions read raise the floors,
2. when the rules read `budget.*`: widen the batch to every entry of each budget it touches,
   read in bulk (`workers.apply.budgets`), so that a budget is decided in order, whole,
3. record the attributes people changed by hand and read every lock (`respect_manual_changes`),
4. load the workspace data the rules read (tags, custom fields, …) and evaluate the rules
   (`workers.apply.assessment`: a budget's entries in order, the rest one by one),
5. keep what failed for one entry for an operator (dead letter `rule_error`, or `rejected`
   when awork refused a read the rules need),
6. audit what the locks prevented (`manual_kept`),
7. write the changes in bulk (`workers.apply.writer`: fenced, audited, within the deadline),
8. remember the budgets' uses and memberships (`workers.apply.budgetrecords`: gauge,
   thresholds passed).

Entries of a budget that were not in the batch are decided like the others (their trigger:
`budget by <who>`); entries closed by a month-end close, or read in an outdated version, are
not decided on but count in their budget as they are.

`Billing.evaluate` (and `assess`, with the budgets' uses) is its read-only half (`simulate`).
`Billing.start` resolves what the rules and the echo check need from awork: the API user
(`GET /me`) and the types of work, patiently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from service.contract.records import PendingRecord
from workers.apply import budgets, startup
from workers.apply.assessment import Assessment, assess
from workers.apply.audit import AuditLog
from workers.apply.batch import Batch, Pending, Write
from workers.apply.budgetdata import BudgetData
from workers.apply.budgetrecords import BudgetRecords
from workers.apply.budgets import Budgets, Scope
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
        audit = AuditLog(redis, keys.audit, settings.audit_max_len)
        self.records = Recorder(audit, DeadLetters(redis, keys.dead), process.metrics)
        ttl = settings.lookup_cache_ttl_seconds
        self.budgets = Budgets(
            process.awork,
            BudgetData(process.awork, redis, keys, self.workspace, ttl),
            BudgetRecords(redis, keys, audit, process.metrics),
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
        loaded first — and, when they read `budget.*`, the other entries of their budgets. What
        failed for one entry — a rule error, a read awork refused — is returned in place of its
        evaluation, not raised."""
        assessment = await self.assess(entries, locked)
        return [assessment.of(entry) for entry in entries]

    async def assess(
        self,
        entries: Sequence[dict[str, Any]],
        locked: Locks | None = None,
        *,
        complete: Collection[str] = (),
    ) -> Assessment:
        """`evaluate`, with the budgets' uses. `complete`: projects whose every entry is among
        `entries` (a simulation from a file: the file is all there is)."""
        scope = await self._scope(entries, complete=complete)
        return await self._assess(scope, locked or {})

    async def apply(
        self,
        items: Sequence[Pending],
        batch: Batch,
        *,
        departed: Collection[str] = (),
        touched: Collection[str] = (),
        complete: Collection[str] = (),
    ) -> list[Pending]:
        """Apply the rules to `items` and write the changes (module docstring). Returns the
        items read in an older version than one already seen (not decided on: stale).

        For budgets: `departed` entries (deleted) and `touched` budget keys re-evaluate their
        budgets too; `complete` projects have every entry in `items` (nothing more to read)."""
        fresh, stale = await self._fresh(items)
        if stale:
            batch.count("stale", len(stale))
        entries = [item.entry for item in fresh]
        scope = await self._scope(entries, departed=departed, touched=touched, complete=complete)
        members, late = await self._members(fresh, scope, batch)
        everyone = [*fresh, *members]
        open_ = await self.guard.screen(everyone, batch)  # closed entries: recorded, never changed
        fixed = {i.entry_id for i in everyone} - {i.entry_id for i in open_}
        locked: Locks = {}
        if self.rules.respect_manual_changes:
            locked = await self.locks.record_and_read(open_, self.me)
        batch.check_time()
        assessment = await self._assess(scope, locked, fixed | {i.entry_id for i in late})
        writes = await self._decided(open_, assessment, {i.entry_id for i in members}, batch)
        if locked:
            await self.records.audited(self._kept(open_, locked), "manual_kept", batch)
        await self.writer.write(writes, batch)
        if scope.budgets:
            await self._remember(scope, assessment, departed, batch)
        return [*stale, *late]

    async def _decided(
        self, items: Sequence[Pending], assessment: Assessment, members: set[str], batch: Batch
    ) -> list[Write]:
        """Dead-letter what failed; the changes to write for the rest."""
        writes: list[Write] = []
        letters: list[DeadLetter] = []
        for item in items:
            evaluation = assessment.results.get(item.entry_id)
            if evaluation is None:
                continue
            if isinstance(evaluation, Exception):  # keep the entry for an operator
                letters.append(_dead_letter(item, evaluation))
                continue
            trigger = item.record.trigger()
            seen = item.record.first_seen_ms
            writes += [Write(c, item.version, trigger, seen) for c in evaluation.changes]
            if item.entry_id not in members:
                batch.count("changed" if evaluation.changes else "unchanged")
            elif evaluation.changes:
                batch.count("budget_changed")
        await self.records.dead_lettered(letters)
        return writes

    async def _scope(self, entries: Sequence[dict[str, Any]], **widening: Any) -> Scope:
        if not budgets.wanted(self.rules):
            return Scope.without_budgets(entries)
        return await self.budgets.widen(entries, **widening)

    async def _assess(
        self, scope: Scope, locked: Locks, fixed: Collection[str] = frozenset()
    ) -> Assessment:
        rules = self.rules
        failed = await self.workspace.enrich(scope.entries(), rules.fields())
        wanted = budgets.wanted(rules)
        return assess(scope, rules, locked=locked, fixed=fixed, failed=failed, budgets=wanted)

    async def _members(
        self, fresh: Sequence[Pending], scope: Scope, batch: Batch
    ) -> tuple[list[Pending], list[Pending]]:
        """The entries of the scope's budgets that were not in the batch, as read by the
        service itself: those fresh enough to decide on, and the stale rest."""
        given = {item.entry_id for item in fresh}
        authors = sorted({b for item in fresh for b in item.record.by}) or ["service"]
        read = [
            Pending.read(entry, "budget", authors)
            for _, entries in scope.budgets.values()
            for entry in entries
            if str(entry["id"]) not in given
        ]
        if scope.budgets:
            batch.count("budgets", len(scope.budgets))
            batch.count("budget_entries", len(read))
        return await self._fresh(read) if read else ([], [])

    async def _remember(
        self, scope: Scope, assessment: Assessment, departed: Collection[str], batch: Batch
    ) -> None:
        """The budgets' memberships and uses, for the next evaluation and the gauge."""
        members = {
            str(entry["id"]): key
            for key, (_, entries) in scope.budgets.items()
            for entry in entries
        }
        left = [str(e["id"]) for e in scope.loose] + [i for i in departed if i not in members]
        await self.budgets.records.remember(members, left)
        await self.budgets.records.update(assessment.uses, assessment.names(), batch)

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
                seen = item.record.first_seen_ms
                kept += [
                    Write(c, item.version, trigger, seen) for c in changes if c.attribute in lock
                ]
        return kept


def _dead_letter(item: Pending, error: Exception) -> DeadLetter:
    if isinstance(error, AworkRejected):  # a read the rules need was refused
        trace = error.trace_id or ""
        return DeadLetter(
            item.entry_id,
            "rejected",
            str(error),
            status=error.status,
            trace_id=trace,
            first_seen_ms=item.record.first_seen_ms,
        )
    return DeadLetter(
        item.entry_id, "rule_error", repr(error), first_seen_ms=item.record.first_seen_ms
    )


async def resolve_types(awork: AworkClient, rules: RuleSet) -> RuleSet:
    """`rules` with every type-of-work name replaced by awork's id (unknown name: RulesError)."""
    if not rules.type_of_work_names():
        return rules
    types = await awork.types_of_work()
    return rules.resolve_types({str(t["name"]): str(t["id"]) for t in types if t.get("name")})
