"""What `awork-billing close …` prints: text for people, one JSON object for scripts (SPEC §6a).

    preview   {"close_id", "scope", "period", "entries", "totals", "anomalies",
               "pending_rule_changes"}
    commit    {"reference", "close_id", "billed", "excluded", "files", "totals"}
    show      {"reference", "period", "scope", "entries", "totals", "reopened", "drift"}

Money and minutes are decimal text in JSON ("112.50"); the tables show hours (seconds / 3600).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workers.cli import tables
from workers.cli.tables import counted, cut
from workers.close import CloseRecord, Commit, Drift, Reopen, Snapshot
from workers.close.totals import totals

GROUP_COLUMNS = ["company", "project", "type_of_work", "entries", "hours", "billed_minutes"]


def preview_json(snapshot: Snapshot, *, by_user: bool) -> dict[str, Any]:
    lines = [p.line for p in snapshot.planned]
    return {
        "close_id": snapshot.close_id,
        "scope": snapshot.selection.scope.to_dict(),
        "period": snapshot.selection.period.to_dict(),
        "entries": [line.preview() for line in lines],
        "totals": totals(lines, snapshot.currency, by_user=by_user),
        "anomalies": [
            {k: a[k] for k in ("id", "reason", "close") if k in a} for a in snapshot.anomalies
        ],
        "pending_rule_changes": snapshot.pending,
    }


def preview_lines(snapshot: Snapshot, *, by_user: bool, samples: int, ttl: int) -> list[str]:
    counts, selection = snapshot.counts, snapshot.selection
    whole = totals([p.line for p in snapshot.planned], snapshot.currency, by_user=by_user)
    out = [
        f"Close preview {selection.describe()}: close_id {snapshot.close_id} (kept {ttl} days)."
        " Read-only: nothing was written to awork.",
        f"{counted(counts.get('close', 0), 'entry', 'entries')} to close, of "
        f"{counts.get('in_period', 0)} in the "
        f"period: {counts.get('billed', 0)} billed already (or by the rules), "
        f"{counts.get('unbillable', 0)} unbillable, {counts.get('held', 0)} held back.",
    ]
    if counts.get("pending_entries"):
        out.append(
            f"Rules: {counted(counts['pending_entries'], 'entry is', 'entries are')} not yet as "
            "the rules decide; "
            "the close counts them as they will be."
        )
    out += ["", *totals_table(whole)]
    if by_user:
        out += ["", *_users_table(whole)]
    out += _anomalies(snapshot, samples)
    out += _pending(snapshot)
    out += ["", f"Next: awork-billing close commit {snapshot.close_id} --reference REF"]
    return out


def totals_table(whole: dict[str, Any]) -> list[str]:
    """Totals per company, project and type of work, and a TOTAL row."""
    priced = whole["currency"] is not None
    columns = GROUP_COLUMNS + (["amount", "currency"] if priced else [])
    rows = [_row(g, whole["currency"]) for g in whole["groups"]]
    rows.append({**_row(whole, whole["currency"]), "company": "TOTAL"})
    lines = table(rows, columns)
    if whole.get("unpriced"):
        unpriced = counted(whole["unpriced"], "entry", "entries")
        lines.append(f"({unpriced} had no rate in effect: no amount)")
    return lines


def commit_json(result: Commit) -> dict[str, Any]:
    record = result.record
    return {
        "reference": record.reference,
        "close_id": record.close_id,
        "billed": [e.line.entry_id for e in record.entries],
        "excluded": record.excluded,
        "files": record.files,
        "totals": record.totals(),
    }


def commit_lines(result: Commit) -> list[str]:
    record = result.record
    where = record.selection.describe()
    billed = f"{_count(len(record.entries), 'entry', 'entries')} billed for {where}"
    if result.repeated:
        first = (
            f"Close {record.reference} was committed at {record.committed_at} by {record.by} "
            f"({record.status}): {billed}. Nothing was written now."
        )
    else:
        first = f"Close {record.reference} committed: {billed}."
    out = [first, f"close_id {record.close_id}; audit trigger 'close {record.reference}'."]
    if record.excluded:
        reasons = Counter(e["reason"] for e in record.excluded)
        listing = ", ".join(f"{r.replace('_', ' ')} {n}" for r, n in sorted(reasons.items()))
        out += ["", f"Left out {len(record.excluded)}: {listing}"]
        out += [f"  {e['id']}  {e['reason'].replace('_', ' ')}" for e in record.excluded]
    out += ["", *totals_table(record.totals()), "", "Files:", *(f"  {f}" for f in record.files)]
    return out


def list_lines(summaries: Sequence[dict[str, Any]]) -> list[str]:
    if not summaries:
        return ["No closes yet."]
    columns = ["reference", "period", "scope", "status", "entries", "amount", "currency"]
    columns += ["committed_at", "by"]
    rows = [
        {**s, "period": f"{s['period']['from']}..{s['period']['to']}", "amount": s["amount"] or ""}
        for s in summaries
    ]
    return table(rows, columns, max_width=48)


def show_json(record: CloseRecord, drift: Sequence[Drift]) -> dict[str, Any]:
    entries = [{**e.line.to_dict(), "version": e.version} for e in record.entries]
    return {
        "reference": record.reference,
        "period": record.selection.period.to_dict(),
        "scope": record.selection.scope.to_dict(),
        "entries": entries,
        "totals": record.totals(by_user=True),
        "reopened": record.status == "reopened",
        "drift": [d.to_dict() for d in drift],
    }


def show_lines(record: CloseRecord, drift: Sequence[Drift]) -> list[str]:
    status: str = record.status
    if record.status == "reopened":
        status = f"reopened at {record.reopened_at} by {record.reopened_by}"
    out = [
        f"Close {record.reference}: {record.selection.describe()}; committed at "
        f"{record.committed_at} by {record.by}; {status}.",
        "",
        *totals_table(record.totals()),
        "",
        "Entries:",
    ]
    columns = ["entry_id", "date", "user", "project", "type_of_work", "seconds"]
    columns += ["billed_minutes", *(["amount"] if record.currency else []), "note"]
    rows = [
        {**e.line.to_dict(), "billed_minutes": e.line.billed_minutes, "amount": e.line.amount or ""}
        | {"note": cut(e.line.note, 30)}
        for e in record.entries
    ]
    out += table(rows, columns)
    out += ["", *drift_lines(drift)]
    return out


def drift_lines(drift: Sequence[Drift]) -> list[str]:
    if not drift:
        return ["Drift since the close: none (every entry is as it was billed)."]
    rows = [
        {
            "entry": d.entry_id,
            "change": d.change,
            "closed_minutes": minutes(d.closed_seconds),
            "current_minutes": "-" if d.current_seconds is None else minutes(d.current_seconds),
        }
        for d in drift
    ]
    head = f"Drift since the close: {_count(len(drift), 'entry', 'entries')} changed or deleted"
    return [head, *table(rows, ["entry", "change", "closed_minutes", "current_minutes"])]


def reopen_lines(result: Reopen) -> list[str]:
    record = result.record
    if result.repeated:
        return [f"Close {record.reference} was reopened at {record.reopened_at}; nothing to do."]
    skipped = Counter(s["reason"] for s in result.skipped)
    listing = ", ".join(f"{r.replace('_', ' ')} {n}" for r, n in sorted(skipped.items()))
    out = [
        f"Close {record.reference} reopened: {_count(len(result.unbilled), 'entry', 'entries')}"
        " un-billed; "
        "the guard no longer watches them.",
    ]
    if listing:
        out.append(f"Left as they were: {listing}.")
    return out


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], **kw: Any) -> list[str]:
    """`workers.cli.tables.table`, with `Decimal` columns right-aligned like its numbers."""
    widths = {
        c: max([len(c)] + [len(format(r[c], "f")) for r in rows if isinstance(r.get(c), Decimal)])
        for c in columns
    }
    aligned = [
        {k: format(v, "f").rjust(widths[k]) if isinstance(v, Decimal) else v for k, v in r.items()}
        for r in rows
    ]
    return tables.table(aligned, columns, **kw)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def hours(seconds: int) -> Decimal:
    return (Decimal(seconds) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)


def minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _row(group: dict[str, Any], currency: str | None) -> dict[str, Any]:
    return {
        **group,
        "hours": hours(group["seconds"]),
        "billed_minutes": Decimal(group["billed_minutes"]),
        "amount": Decimal(group["amount"]) if group.get("amount") is not None else "",
        "currency": currency or "",
    }


def _users_table(whole: dict[str, Any]) -> list[str]:
    columns = ["user", "entries", "hours", "billed_minutes"]
    columns += ["amount"] if whole["currency"] else []
    return table([_row(u, whole["currency"]) for u in whole.get("users", [])], columns)


def _anomalies(snapshot: Snapshot, samples: int) -> list[str]:
    if not snapshot.anomalies:
        return ["", "Anomalies: none."]
    reasons = Counter(a["reason"] for a in snapshot.anomalies)
    listing = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))
    held = "included (--include-anomalies)" if snapshot.include_anomalies else "held back"
    out = [
        "",
        f"Anomalies: {listing} — {held}; running timers are never closed.",
    ]
    shown = [a for reason in sorted(reasons) for a in _of(snapshot.anomalies, reason)[:samples]]
    columns = ["id", "reason", "date", "user", "project", "seconds", "note"]
    rows = [{**a, "reason": _reason(a), "note": cut(str(a.get("note") or ""), 30)} for a in shown]
    return out + (table(rows, columns) if rows else [])


def _reason(anomaly: dict[str, Any]) -> str:
    """`already_closed` names its close: `already_closed (NL-2026-10)`."""
    close = anomaly.get("close")
    return f"{anomaly['reason']} ({close})" if close else str(anomaly["reason"])


def _of(anomalies: Sequence[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
    return [a for a in anomalies if a["reason"] == reason]


def _pending(snapshot: Snapshot) -> list[str]:
    if not snapshot.pending:
        return ["", "Pending rule changes: none."]
    counts: Counter[tuple[str, str, str]] = Counter()
    in_close: Counter[tuple[str, str, str]] = Counter()
    for p in snapshot.pending:
        key = (p["rule"], p["attribute"], str(p.get("change") or f"{p['old']} -> {p['new']}"))
        counts[key] += 1
        in_close[key] += 1 if p["in_close"] else 0
    rows = [
        {
            "rule": r,
            "attribute": a,
            "change": c,
            "entries": n,
            "written_by_commit": in_close[(r, a, c)],
        }
        for (r, a, c), n in sorted(counts.items())
    ]
    head = "Pending rule changes (the commit writes those of the entries it bills, first):"
    return ["", head, *table(rows, ["rule", "attribute", "change", "entries", "written_by_commit"])]
