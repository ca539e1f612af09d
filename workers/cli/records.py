"""`awork-billing audit`, `dead-letters` and `manual`: what the service did, what it could not
do, and what people keep by hand — read from Redis."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from service.contract.records import IngestItem, PendingRecord
from service.contract.settings import load_settings
from workers.apply.audit import AuditLog
from workers.apply.deadletters import DeadLetters
from workers.apply.locks import ManualLocks
from workers.cli.operator import operator_context
from workers.cli.tables import counted, table
from workers.process import ProcessContext


def audit(args: argparse.Namespace) -> int:
    """`awork-billing audit`: the newest changes, filtered, as a table or JSON lines."""
    settings = load_settings()

    async def read() -> list[dict[str, Any]]:
        async with operator_context(settings, awork=False) as context:
            log = AuditLog(context.redis, context.keys.audit)
            rows = await log.read(count=100_000)
        rows = [r for r in rows if (not args.entry or r["entry"] == args.entry)]
        rows = [r for r in rows if (not args.rule or r["rule"] == args.rule)]
        if args.since is not None:
            rows = [r for r in rows if _at(r) >= args.since]
        return rows[: args.limit]

    rows = _run(read())
    columns = ["at", "entry", "rule", "attribute", "old", "new", "outcome", "trigger"]
    _print(rows, columns, as_json=args.json)
    return 0


def _at(row: dict[str, Any]) -> datetime:
    """When an audit row was written (`at`, ISO 8601 UTC); unreadable: the epoch."""
    try:
        moment = datetime.fromisoformat(str(row.get("at", "")))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def dead_letters(args: argparse.Namespace) -> int:
    """`awork-billing dead-letters list|replay|purge`."""
    settings = load_settings()
    if args.action != "list" and not args.ids and not args.all:
        print(f"awork-billing: dead-letters {args.action} needs ids or --all", file=sys.stderr)
        return 2

    async def act() -> list[dict[str, Any]]:
        async with operator_context(settings, awork=False) as context:
            dead = DeadLetters(context.redis, context.keys.dead)
            if args.action == "list":
                return await dead.list_all()
            taken = await dead.take(None if args.all else args.ids)
            if args.action == "replay":
                await _requeue(context, taken)
            return taken

    rows = _run(act())
    if args.action == "list":
        columns = ["id", "entry_id", "reason", "attribute", "value", "rule", "status", "error"]
        _print(rows, columns, as_json=args.json)
    else:
        print(f"{args.action}: {counted(len(rows), 'dead letter')}")
    return 0


async def _requeue(context: ProcessContext, letters: list[dict[str, Any]]) -> None:
    """Back into the queue, evaluated afresh; the entry keeps when it was first seen."""
    first: dict[str, int] = {}
    for letter in letters:
        entry_id, seen = str(letter["entry_id"]), int(str(letter.get("first_seen_ms") or 0))
        known = first.get(entry_id, 0)
        first[entry_id] = min(known, seen) if known and seen else known or seen
    items = [
        IngestItem(i, PendingRecord(event="replay", first_seen_ms=ms))
        for i, ms in sorted(first.items())
    ]
    await context.queue.add(items)


def manual(args: argparse.Namespace) -> int:
    """`awork-billing manual list [ENTRY…] | clear ENTRY… | clear --all`: the attributes people
    set by hand that the rules leave alone (`respect_manual_changes`), and lifting them."""
    settings = load_settings()
    if args.action == "clear" and not args.entries and not args.all:
        print("awork-billing: manual clear needs entry ids or --all", file=sys.stderr)
        return 2

    async def act() -> dict[str, list[str]]:
        async with operator_context(settings, awork=False) as context:
            locks = ManualLocks(context.redis, context.keys)
            found = {i: [str(x) for x in a] for i, a in (await locks.all()).items()}
            if args.entries:
                found = {i: a for i, a in found.items() if i in set(args.entries)}
            if args.action == "clear":
                cleared = list(found) if args.all else list(args.entries)
                await locks.clear(cleared)
                # evaluated afresh by the next flush, not only at the entry's next change
                record = PendingRecord(event="manual_clear")
                await context.queue.add([IngestItem(i, record) for i in sorted(set(cleared))])
            return found

    locked = _run(act())
    if args.action == "clear":
        entries = "1 entry" if len(locked) == 1 else f"{len(locked)} entries"
        print(f"clear: manual locks lifted on {entries}; queued, the rules apply again")
        return 0
    rows = [{"entry": i, "attributes": ",".join(a)} for i, a in locked.items()]
    _print(rows, ["entry", "attributes"], as_json=args.json)
    return 0


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _print(rows: Sequence[dict[str, Any]], columns: list[str], *, as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    if not rows:
        print("(none)")
        return
    print("\n".join(table(rows, columns)))
