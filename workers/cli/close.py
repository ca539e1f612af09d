"""`awork-billing close …`: the month-end close (issue 12, README "Month-end close").

    close preview (--company NAME|ID | --project ID…) (--period YYYY-MM | --from D --to D)
                  [--rates FILE] [--include-anomalies] [--by-user] [--samples N] [--json]
    close commit CLOSE_ID --reference REF [--out DIR] [--json]
    close list [--json]
    close show REF [--json]
    close reopen REF [--json]

The engines live in `workers.close`; here are the arguments, the one-line errors (exit 2 for bad
input: a month, a date, a rates file, an unknown close id or reference, a reference used
before; exit 1 when Redis or awork fail or awork refuses) and the output (`closeviews`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from service.contract.settings import Settings, load_settings
from workers import close as engine
from workers.cli import argtypes, closeviews
from workers.cli.operator import CliError, operator_billing, operator_context
from workers.rates import RatesError, RateTable, load_rates

T = TypeVar("T")
CLOSE_ID = re.compile(r"[0-9a-f]{12}")


def register(p: argparse.ArgumentParser) -> None:
    """The `close` command's actions and their arguments."""
    sub = p.add_subparsers(required=True, metavar="ACTION", dest="action")

    def action(name: str, handler: Any, text: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=text, description=text)
        q.set_defaults(handler=handler)
        q.add_argument("--json", action="store_true", help="one JSON object instead of text")
        return q

    _preview_arguments(
        action("preview", preview, "What a close of a period would bill (read-only; a snapshot).")
    )
    q = action("commit", commit, "Bill exactly a preview's unchanged entries; write the files.")
    q.add_argument("close_id", type=close_id, metavar="CLOSE_ID", help="from close preview")
    q.add_argument("--reference", required=True, type=reference, metavar="REF")
    q.add_argument("--out", default=".", metavar="DIR", help="where the files go (default .)")
    action("list", list_closes, "Every close: reference, period, scope, status, totals.")
    q = action("show", show, "A close's totals, entries and drift (entries changed since).")
    q.add_argument("reference", type=reference, metavar="REF")
    q = action("reopen", reopen, "Un-bill a close's entries (an admin's API key); audited.")
    q.add_argument("reference", type=reference, metavar="REF")


def missing_action(args: argparse.Namespace) -> int:  # argparse requires an action first
    raise CliError("close needs an action", 2)


def preview(args: argparse.Namespace) -> int:
    settings = load_settings()
    selection = _selection(args)
    table = _rates(args.rates or settings.rates_file)
    request = engine.PreviewRequest(selection, table, args.include_anomalies, _who())
    readonly = settings.model_copy(update={"dry_run": True})
    snapshot = _run(_preview(readonly, request))
    if args.json:
        _print_json(closeviews.preview_json(snapshot, by_user=args.by_user))
    else:
        ttl = settings.close_snapshot_ttl_days
        lines = closeviews.preview_lines(
            snapshot, by_user=args.by_user, samples=args.samples, ttl=ttl
        )
        print("\n".join(lines))
    return 0


def commit(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def run() -> engine.Commit:
        async with operator_context(settings) as process:
            return await engine.commit(
                process, args.close_id, args.reference, Path(args.out), _who()
            )

    result = _run(run())
    _output(args, closeviews.commit_json(result), closeviews.commit_lines(result))
    return 0


def list_closes(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def run() -> list[dict[str, Any]]:
        async with operator_context(settings, awork=False) as process:
            return await engine.Records(process.redis, process.keys).summaries()

    summaries = _run(run())
    _output(args, {"closes": summaries}, closeviews.list_lines(summaries))
    return 0


def show(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def run() -> tuple[engine.CloseRecord, list[engine.Drift]]:
        async with operator_context(settings) as process:
            record = await engine.Records(process.redis, process.keys).load(args.reference)
            if record is None or record.status == "committing":
                raise _unknown(args.reference, record)
            return record, await engine.measure(process, record)

    record, drift = _run(run())
    _output(args, closeviews.show_json(record, drift), closeviews.show_lines(record, drift))
    return 0


def reopen(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def run() -> engine.Reopen:
        async with operator_context(settings) as process:
            return await engine.reopen(process, args.reference, _who())

    result = _run(run())
    data = {
        "reference": result.record.reference,
        "unbilled": result.unbilled,
        "skipped": result.skipped,
        "reopened": result.record.status == "reopened",
    }
    _output(args, data, closeviews.reopen_lines(result))
    return 0


async def _preview(settings: Settings, request: engine.PreviewRequest) -> engine.Snapshot:
    async with operator_billing(settings) as billing:
        return await engine.preview(billing, request)


def _preview_arguments(q: argparse.ArgumentParser) -> None:
    scope = q.add_mutually_exclusive_group(required=True)
    scope.add_argument("--company", metavar="NAME|ID", help="a company: its id, or its name")
    scope.add_argument(
        "--project",
        action="extend",
        nargs="+",
        type=argtypes.guid,
        metavar="ID",
        help="one or more projects",
    )
    q.add_argument("--period", type=month, metavar="YYYY-MM", help="a calendar month")
    q.add_argument("--from", dest="start", type=argtypes.day, metavar="DATE", help="first day")
    q.add_argument("--to", dest="end", type=argtypes.day, metavar="DATE", help="last day, included")
    q.add_argument("--rates", metavar="FILE", help="the rates file (default: RATES_FILE)")
    q.add_argument(
        "--include-anomalies",
        action="store_true",
        help="close anomalous entries too (never running timers)",
    )
    q.add_argument("--by-user", action="store_true", help="totals per user too")
    q.add_argument(
        "--samples",
        type=argtypes.count,
        default=5,
        metavar="N",
        help="anomalies to show per reason (default 5)",
    )


def _selection(args: argparse.Namespace) -> engine.Selection:
    if args.period is not None:
        if args.start is not None or args.end is not None:
            raise CliError("give either --period or --from and --to, not both", 2)
        period = args.period
    elif args.start is None or args.end is None:
        missing = "--period (or --from and --to)" if args.start == args.end else "--from and --to"
        raise CliError(f"{missing} needed: which days to close (local dates)", 2)
    elif args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}", 2)
    else:
        period = engine.Period(args.start, args.end)
    if args.company is not None and not args.company.strip():
        raise CliError("--company needs a name or an id", 2)
    projects = tuple(dict.fromkeys(args.project or ()))
    scope = engine.Scope(projects=projects) if projects else engine.Scope.company(args.company)
    return engine.Selection(scope, period)


def _rates(path: str | None) -> RateTable | None:
    if not path:
        return None
    try:
        return load_rates(path)
    except RatesError as e:
        raise CliError(str(e), 2) from e


def month(text: str) -> engine.Period:
    """`--period YYYY-MM`."""
    try:
        return engine.Period.month(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid month {text!r} (expected YYYY-MM)") from None


def close_id(text: str) -> str:
    if not CLOSE_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a close id (12 hex digits)")
    return text


def reference(text: str) -> str:
    try:
        engine.check_reference(text)
    except engine.CloseRefused as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _unknown(reference: str, record: engine.CloseRecord | None) -> CliError:
    if record is None:
        return CliError(f"unknown close reference {reference} (see awork-billing close list)", 2)
    return CliError(f"close {reference} is not committed yet: finish it with close commit", 2)


def _who() -> str:
    return os.environ.get("USER") or "operator"


def _run(coro: Coroutine[Any, Any, T]) -> T:
    with _close_errors():
        return asyncio.run(coro)


@contextlib.contextmanager
def _close_errors() -> Iterator[None]:
    """A close that cannot go on is one line: exit 2 for bad input, else 1."""
    try:
        yield
    except engine.CloseRefused as e:
        raise CliError(str(e), 2) from e
    except engine.CloseError as e:
        raise CliError(str(e), 1) from e


def _output(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        _print_json(data)
    else:
        print("\n".join(lines))


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))
