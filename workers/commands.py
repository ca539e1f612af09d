"""Operator commands of the CLI that talk to Redis or run services (see `workers.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from service.queue import IngestItem, Keys, PendingRecord
from service.settings import Settings, load_settings
from workers.session import redis_session
from workers.tables import table


def audit(args: argparse.Namespace) -> int:
    """`awork-billing audit`: the newest changes, filtered, as a table or JSON lines."""
    from workers import audit as audit_log

    settings = load_settings()

    async def read() -> list[dict[str, Any]]:
        async with redis_session(settings) as redis:
            rows = await audit_log.read(redis, Keys(settings.redis_prefix).audit, count=100_000)
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
    from workers import deadletters

    settings = load_settings()
    keys = Keys(settings.redis_prefix)
    if args.action != "list" and not args.ids and not args.all:
        print(f"awork-billing: dead-letters {args.action} needs ids or --all", file=sys.stderr)
        return 2

    async def act() -> list[dict[str, Any]]:
        async with redis_session(settings) as redis:
            if args.action == "list":
                return await deadletters.list_all(redis, keys.dead)
            taken = await deadletters.take(redis, keys.dead, None if args.all else args.ids)
            if args.action == "replay":
                await _requeue(settings, redis, [str(d["entry_id"]) for d in taken])
            return taken

    rows = _run(act())
    if args.action == "list":
        columns = ["id", "entry_id", "reason", "attribute", "value", "rule", "status", "error"]
        _print(rows, columns, as_json=args.json)
    else:
        print(f"{args.action}: {len(rows)} dead letters")
    return 0


async def _requeue(settings: Settings, redis: Any, entry_ids: list[str]) -> None:
    from service.ingest import Committer

    writer = Committer.for_settings(redis, settings)
    items = [IngestItem(i, PendingRecord(event="replay")) for i in sorted(set(entry_ids))]
    if items:
        await writer.write(items)


def sandbox(args: argparse.Namespace) -> int:
    """`awork-billing sandbox`: the fake awork API on 127.0.0.1 until Ctrl-C."""
    from workers.local import serve_sandbox

    _run(serve_sandbox(args.port, args.entries))
    return 0


def demo(args: argparse.Namespace) -> int:
    """`awork-billing demo` (`make demo`): the whole pipeline once, on local defaults."""
    from workers.local import run_demo

    return int(_run(run_demo()))


def run_local(args: argparse.Namespace) -> int:
    """`awork-billing run` (`make run`): web app + worker (+ sandbox when no awork is set)."""
    from workers.local import run_services

    _run(run_services())
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
