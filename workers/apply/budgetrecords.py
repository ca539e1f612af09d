"""What the workers remember of budgets, and what they tell about them.

- **Memberships** (`<prefix>:budget:of:<entry>`, kept `MEMBERSHIP_DAYS`): the budget each entry
  was last evaluated in, so that an entry moving out of a budget (another project or month) or
  deleted still re-evaluates the budget it left.
- **Uses** (`<prefix>:budgets`, a hash budget key -> JSON `{project, kind, seconds, used,
  percent, deduct, at}`): each budget's last evaluation. Swapped atomically, so each pass of a
  threshold is told once however many workers evaluate the budget.
- **Thresholds**: a budget going from below 50, 75, 90 or 100 % to at least that is recorded in
  the audit log (rule `budget`, attribute `usedPercent`, outcome `budget_passed_<n>`, the entry
  whose hours reached it), logged as a warning and counted
  (`awork_billing_budget_thresholds_passed_total{threshold}`).
- **Gauge** `awork_billing_budget_used_percent{project, kind}`: per project, its own budget's use
  and its current retainer period's (the one holding now). Set when a budget is evaluated, and
  every worker re-reads the uses now and then (`refresh_gauges`), so all processes export the
  same, current figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.redis import text
from workers.apply.audit import AuditEntry, AuditLog
from workers.apply.batch import Batch
from workers.rules.budgets import Budget, instant_of, ticks_of
from workers.rules.ordered import THRESHOLDS, Use
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

MEMBERSHIP_DAYS = 400
"""Memberships live past a year of budgets; a budget evaluated again refreshes them."""
RULE = "budget"
SWAP_LUA = """
local out = {}
for i = 1, #ARGV, 2 do
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return out
"""
"""KEYS: the uses hash. ARGV: pairs (budget key, new use). Returns each budget's previous use."""


def project_of_key(key: str) -> str:
    """The project id in a budget key (`project:<id>`, `retainer:<id>:<period>`)."""
    return key.split(":", 2)[1] if key.count(":") >= 1 else ""


def budget_from(key: str, record: Mapping[str, Any]) -> Budget | None:
    """The budget a uses record describes (None when the key is not one of ours)."""
    kind, _, rest = key.partition(":")
    project, _, period = rest.partition(":")
    seconds, deduct = int(record.get("seconds") or 0), bool(record.get("deduct"))
    if kind == "project":
        return Budget("project", project, seconds, deduct)
    start, _, end = period.partition("/")
    first, last = instant_of(start), instant_of(end)
    if kind != "retainer" or first is None or last is None:
        return None
    return Budget("retainer", project, seconds, deduct, first, last)


@dataclass(frozen=True)
class Passed:
    """A budget passing `threshold` %: at `entry`, from `old` % to `new` %."""

    budget: Budget
    threshold: int
    entry: str
    old: float | None
    new: float | None


class BudgetRecords:
    """Memberships, uses, thresholds and the gauge (module docstring)."""

    def __init__(self, redis: Redis, keys: Keys, audit: AuditLog, metrics: WorkerMetrics) -> None:
        self._redis = redis
        self._keys = keys
        self._audit = audit
        self._metrics = metrics
        self._swap: Any = redis.register_script(SWAP_LUA)
        self._shown: set[tuple[str, str]] = set()

    async def memberships(self, entry_ids: Sequence[str]) -> dict[str, str]:
        """The budget key each of `entry_ids` was last evaluated in (those that have one)."""
        if not entry_ids:
            return {}
        values = await self._redis.mget([self._keys.budget_of(i.lower()) for i in entry_ids])
        return {i: text(v) for i, v in zip(entry_ids, values, strict=True) if v}

    async def remember(self, members: Mapping[str, str], left: Collection[str]) -> None:
        """Entries now in a budget (`members`: id -> key), and entries in none any more."""
        if not members and not left:
            return
        ttl = MEMBERSHIP_DAYS * 86_400
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, key in members.items():
                pipe.set(self._keys.budget_of(entry_id.lower()), key, ex=ttl)
            for entry_id in left:
                pipe.delete(self._keys.budget_of(entry_id.lower()))
            await pipe.execute()

    async def update(
        self, uses: Sequence[Use], names: Mapping[str, str], batch: Batch
    ) -> list[Passed]:
        """Store each budget's use; record the thresholds passed; set the gauge."""
        if not uses:
            return []
        pairs = [x for use in uses for x in (use.budget.key, orjson.dumps(_record(use)))]
        before = await self._swap(keys=[self._keys.budgets], args=pairs)
        passed = [p for use, old in zip(uses, before, strict=True) for p in _passed(use, old)]
        await self._tell(passed, names, batch)
        now = ticks_of(datetime.now(UTC))
        for use in uses:
            if _current(use.budget, now):
                self._show(use.budget, use.percent)
        return passed

    async def all(self) -> dict[str, dict[str, Any]]:
        """Every budget's last use, by budget key."""
        raw = await self._redis.hgetall(self._keys.budgets)  # type: ignore[misc]
        return {text(k): orjson.loads(v) for k, v in raw.items()}

    async def forget(self, keys: Collection[str]) -> None:
        """Drop the uses of budgets that no longer exist."""
        if keys:
            await self._redis.hdel(self._keys.budgets, *keys)  # type: ignore[misc]

    async def refresh_gauges(self) -> None:
        """Set the gauge from the uses every worker shares; drop series no longer current."""
        now = ticks_of(datetime.now(UTC))
        shown: set[tuple[str, str]] = set()
        for key, record in (await self.all()).items():
            budget = budget_from(key, record)
            if budget is not None and _current(budget, now):
                shown.add(self._show(budget, record.get("percent")))
        for labels in self._shown - shown:
            self._metrics.budget_used.remove(*labels)
        self._shown = shown

    def _show(self, budget: Budget, percent: float | None) -> tuple[str, str]:
        labels = (budget.project, budget.kind)
        self._metrics.budget_used.labels(*labels).set(percent or 0.0)
        self._shown.add(labels)
        return labels

    async def _tell(self, passed: Sequence[Passed], names: Mapping[str, str], batch: Batch) -> None:
        if not passed:
            return
        await self._audit.record(_line(p, names, batch.job_id) for p in passed)
        batch.count("budget_thresholds", len(passed))
        for p in passed:
            self._metrics.budget_thresholds.labels(str(p.threshold)).inc()
            name = f"{names.get(p.budget.project) or p.budget.project}, {p.budget.label}"
            extra = {"entry_id": p.entry, "rule": RULE, "event": p.budget.key}
            message = "budget %s (%s) passed %d %%: now %s %%, at entry %s"
            log.warning(message, p.budget.key, name, p.threshold, _pct(p.new), p.entry, extra=extra)


def _record(use: Use) -> dict[str, Any]:
    budget = use.budget
    return {
        "project": budget.project,
        "kind": budget.kind,
        "seconds": budget.seconds,
        "deduct": budget.deduct_all,
        "used": use.used,
        "percent": use.percent,
        "within": len(use.within),
        "over": len(use.over),
        "at": time.time(),
    }


def _passed(use: Use, old: bytes | str) -> list[Passed]:
    """The thresholds `use` is at and the previous use was below (none known: 0 %)."""
    previous = orjson.loads(old).get("percent") if old else None
    before, now = previous or 0.0, use.percent
    if now is None:
        return []
    return [
        Passed(use.budget, t, use.reached.get(t, ""), previous, now)
        for t in THRESHOLDS
        if before < t <= now
    ]


def _line(passed: Passed, names: Mapping[str, str], job: str) -> AuditEntry:
    name = names.get(passed.budget.project) or passed.budget.project
    trigger = f"{passed.budget.key} ({name}, {passed.budget.label})"
    outcome = f"budget_passed_{passed.threshold}"
    old, new = _pct(passed.old), _pct(passed.new)
    return AuditEntry(passed.entry, RULE, "usedPercent", old, new, outcome, trigger, job)


def _pct(value: float | None) -> str:
    return "null" if value is None else f"{value:.1f}"


def _current(budget: Budget, now: int) -> bool:
    """A project's own budget, or the retainer period holding `now`."""
    return budget.kind == "project" or budget.holds(now)
