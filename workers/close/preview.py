"""`close preview`: read a period, let the rules decide, triage, price, keep the snapshot.

1. Read the selection in bulk pages (`workers.close.reading`) and keep the entries whose local
   start day is in the period and that are in scope (`workers.close.scope`).
2. Evaluate the rules on them with `Billing.evaluate` — the read-only half of what the workers
   do, with the workspace data the rules read — and triage each entry on what the rules decide
   (`workers.close.triage`).
3. Price the entries to close (`workers.rates`) on the entry as the rules leave it.
4. Keep it all as a snapshot under a new `close_id` (`workers.close.snapshot`).

Nothing is written to awork; the only write is the snapshot, to Redis.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workers.apply.audit import now_iso, text
from workers.apply.batch import Pending, entry_version
from workers.apply.billing import Billing
from workers.apply.guard import Closed, ClosedEntries
from workers.awork.retry import POLICY
from workers.close.lines import line_of, seconds_of
from workers.close.reading import read_selection
from workers.close.scope import Selection
from workers.close.snapshot import Planned, Snapshot, Snapshots, new_close_id
from workers.close.triage import Verdict, judge
from workers.rates import LOCAL_FIELDS, RateTable, price
from workers.rules.engine import Evaluation
from workers.rules.model import Attribute


@dataclass(frozen=True)
class PreviewRequest:
    """What to preview: the selection, the rates (None: minutes only), who asks."""

    selection: Selection
    table: RateTable | None = None
    include_anomalies: bool = False
    by: str = "operator"


async def preview(billing: Billing, request: PreviewRequest) -> Snapshot:
    """Preview the close of `request.selection` and keep its snapshot (module docstring)."""
    process = billing.process
    read = await read_selection(process, request.selection)
    entries = [entry for entry in read if request.selection.holds(entry)]
    selection = Selection(request.selection.scope.named(entries), request.selection.period)
    evaluations = await _evaluate(billing, entries, request.table)
    names = await _type_names(billing, entries, evaluations)
    include = request.include_anomalies
    closed = await ClosedEntries(process.redis, process.keys).read([_id(e) for e in entries])
    verdicts = [
        judge(
            entry, evaluation, names, include_anomalies=include, closed_by=_reference(closed, entry)
        )
        for entry, evaluation in zip(entries, evaluations, strict=True)
    ]
    snapshot = _snapshot(request, selection, verdicts, names)
    snapshot.counts["read"] = len(read)
    ttl = process.settings.close_snapshot_ttl_days
    await Snapshots(process.redis, process.keys, ttl).save(snapshot)
    return snapshot


def _id(entry: dict[str, Any]) -> str:
    return str(entry.get("id") or "").lower()


def _reference(closed: dict[str, Closed], entry: dict[str, Any]) -> str | None:
    """The close `entry` belongs to (its guard is up), if any."""
    found = closed.get(_id(entry))
    return found.reference if found is not None else None


async def _evaluate(
    billing: Billing, entries: list[dict[str, Any]], table: RateTable | None
) -> list[Evaluation | Exception]:
    """The rules' verdicts, with the workspace data (tags, custom fields) the rules and the
    rates read loaded into `entries` — which may take awork reads, each tried patiently."""
    attempts = billing.process.settings.awork_max_attempts
    step = functools.partial(billing.evaluate, entries, await _locks(billing, entries))
    evaluations = await POLICY.patiently(step, attempts)
    if table is not None:
        enrich = billing.workspace.enrich
        fields = table.fields() - LOCAL_FIELDS
        await POLICY.patiently(functools.partial(enrich, entries, fields), attempts)
    return evaluations


async def _locks(
    billing: Billing, entries: list[dict[str, Any]]
) -> dict[str, frozenset[Attribute]]:
    """The attributes people set by hand, when the rules respect them (as the workers read them;
    entries read by the service itself bring no new manual changes to record)."""
    if not billing.rules.respect_manual_changes:
        return {}
    items = [Pending.read(entry, "close") for entry in entries]
    return await billing.locks.record_and_read(items, billing.me)


async def _type_names(
    billing: Billing,
    entries: Sequence[dict[str, Any]],
    evaluations: Sequence[Evaluation | Exception],
) -> dict[str, str]:
    """Type-of-work names by id, for the types the rules change: from the entries read, and
    when one is missing there, from awork (one read)."""
    wanted = {
        str(c.new).lower()
        for e in evaluations
        if isinstance(e, Evaluation)
        for c in e.changes
        if c.attribute == "type_of_work"
    }
    names = {}
    for entry in entries:
        nested = entry.get("typeOfWork") or {}
        if nested.get("id") and nested.get("name"):
            names[str(nested["id"]).lower()] = str(nested["name"])
    if wanted <= names.keys():
        return names
    process = billing.process
    step = functools.partial(process.awork.types_of_work)
    types = await POLICY.patiently(step, process.settings.awork_max_attempts)
    return names | {str(t["id"]).lower(): str(t.get("name") or "") for t in types if t.get("id")}


def _snapshot(
    request: PreviewRequest, selection: Selection, verdicts: list[Verdict], names: dict[str, str]
) -> Snapshot:
    table = request.table
    currency = table.currency if table is not None else None
    planned = [_planned(v, table, currency) for v in verdicts if v.fate == "close"]
    fates = Counter(v.fate for v in verdicts)
    counts = {fate: fates.get(fate, 0) for fate in ("close", "held", "billed", "unbillable")}
    counts["in_period"] = len(verdicts)
    counts["pending_entries"] = sum(1 for v in verdicts if v.changes)
    return Snapshot(
        close_id=new_close_id(),
        selection=selection,
        currency=currency,
        rates_file=table.source if table is not None else None,
        include_anomalies=request.include_anomalies,
        at=now_iso(),
        by=request.by,
        planned=planned,
        anomalies=[a for v in verdicts for a in _anomalies(v)],
        pending=[p for v in verdicts for p in _pending(v, names)],
        counts=counts,
    )


def _planned(verdict: Verdict, table: RateTable | None, currency: str | None) -> Planned:
    ruled = verdict.ruled
    line = line_of(ruled, price(ruled, seconds_of(ruled), table), currency)
    # the commit bills the entry itself: a rule's own `billed` decision is not written for it
    changes = tuple(c for c in verdict.changes if c.attribute != "billed")
    return Planned(line, entry_version(ruled), changes)


def _anomalies(verdict: Verdict) -> list[dict[str, Any]]:
    """`{"id", "reason"}` per reason, with what an operator needs to find the entry."""
    if not verdict.reasons:
        return []
    line = line_of(verdict.ruled, price(verdict.ruled, seconds_of(verdict.ruled), None), None)
    about = {k: getattr(line, k) for k in ("date", "user", "project", "seconds", "note")}
    if verdict.closed_by is not None:
        about["close"] = verdict.closed_by
    return [{"id": verdict.entry_id, "reason": reason, **about} for reason in verdict.reasons]


def _pending(verdict: Verdict, names: dict[str, str]) -> list[dict[str, Any]]:
    """The rules' changes for one entry; `in_close`: the commit writes it (before billing)."""
    return [
        {
            "id": verdict.entry_id,
            "rule": c.rule,
            "attribute": c.attribute,
            "old": c.old,
            "new": c.new,
            "change": f"{_text(c.old, names)} -> {_text(c.new, names)}",
            "in_close": verdict.fate == "close" and c.attribute != "billed",
        }
        for c in verdict.changes
    ]


def _text(value: object, names: dict[str, str]) -> str:
    if isinstance(value, bool) or value is None:
        return text(value)
    return names.get(str(value).lower(), str(value))
