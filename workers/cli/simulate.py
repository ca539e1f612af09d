"""`awork-billing simulate`: what a rules file would change, entry by entry — and nothing more.

Entries come from awork (`--from/--to`: paged `GET /timeentries?filterby=…`, 1000 a page, through
the client and the shared rate limiter) or from a JSON file (`--entries`: a list of time entries
as awork returns them, or an object with "entries"). Nothing is ever written: the only awork
calls are reads, and the rules are evaluated with `Billing.evaluate`, the read-only half of what
the workers do.

awork is contacted only when needed — to read the entries, to resolve type-of-work names, or to
load the projects, companies and tasks that rules on tags and custom fields read. With a file and
rules that need none of that, a simulation needs neither Redis nor awork.

Budgets (rules on `budget.*`): from awork, each budget a page touches is read whole — also its
entries outside the period, which count before the later ones — and evaluated in order, as the
workers do; from a file, the file is all there is: a budget's entries are the file's entries of
its project (the projects and their retainers still come from awork). The report then shows
each budget: its seconds, the seconds used and the entries within and over it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
from pathlib import Path
from typing import Any

from service.contract.settings import Settings, SettingsError, load_settings
from workers.apply import budgets
from workers.apply.assessment import Assessment
from workers.apply.billing import Billing
from workers.awork.client import EntryPage
from workers.awork.retry import POLICY
from workers.cli.findings import Findings
from workers.cli.operator import CliError, operator_billing
from workers.cli.period import Period
from workers.cli.progress import Progress, page_note
from workers.rules.budgets import project_of
from workers.rules.engine import Evaluation, evaluate
from workers.rules.fields import EXTRA_FIELDS, WILDCARD_PREFIXES
from workers.rules.model import RuleSet
from workers.rules.parser import load_rules

PAGE_SIZE = 1000


def command(args: argparse.Namespace) -> int:
    """`awork-billing simulate --rules FILE (--from D --to D | --entries FILE) [--json]`."""
    period = _period(args)
    settings = load_settings()
    rules = load_rules(args.rules)
    entries = None if period else read_entries(args.entries)
    report = Findings(rules, args.rules, samples=args.samples, period=period)
    asyncio.run(_simulate(settings, rules, args.rules, period, entries, report))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0


def read_entries(path: str) -> list[dict[str, Any]]:
    """Time entries from a JSON file: a list, or an object with "entries" (bad file: exit 2)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise CliError(f"--entries: cannot read {path}: {e.strerror or e}", 2) from e
    except ValueError as e:
        raise CliError(f"--entries: {path} is not JSON: {e}", 2) from e
    if isinstance(data, dict) and "entries" in data:
        data = data["entries"]
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        message = "expected a JSON list of time entries, or an object with 'entries'"
        raise CliError(f"--entries: {path}: {message}", 2)
    return data


def awork_needed(rules: RuleSet, reading: bool) -> str | None:
    """Why simulating needs awork, or None when the rules and entries do not."""
    if reading:
        return "to read the entries"
    names = rules.type_of_work_names()
    if names:
        return f"to resolve type-of-work names ({', '.join(sorted(names))})"
    extra = sorted(
        f for f in rules.fields() if f in EXTRA_FIELDS or f.startswith(WILDCARD_PREFIXES)
    )
    if extra:
        return f"to load the workspace data the rules read ({', '.join(extra)})"
    return None


def _period(args: argparse.Namespace) -> Period | None:
    dates = args.start is not None or args.end is not None
    if dates == (args.entries is not None):
        raise CliError("give either --from and --to (entries from awork) or --entries FILE", 2)
    if args.entries is not None:
        if args.project:
            raise CliError("--project works with --from/--to, not with --entries", 2)
        return None
    if args.start is None or args.end is None:
        raise CliError(f"--{'to' if args.end is None else 'from'} is missing", 2)
    if args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}", 2)
    return Period(args.start, args.end, args.project)


async def _simulate(
    settings: Settings,
    rules: RuleSet,
    rules_file: str,
    period: Period | None,
    entries: list[dict[str, Any]] | None,
    report: Findings,
) -> None:
    why = awork_needed(rules, reading=period is not None)
    progress = Progress("simulate", total=None if entries is None else len(entries))
    try:
        if why is None:
            assert entries is not None
            report.add(entries, [_evaluate(entry, rules) for entry in entries])
            return
        readonly = settings.model_copy(update={"rules_file": rules_file, "dry_run": True})
        try:
            async with operator_billing(readonly) as billing:
                report.use_names(billing.rules)
                if period is not None:
                    await _from_awork(billing, period, report, progress)
                else:
                    assert entries is not None
                    await _from_file(billing, entries, report, progress)
        except SettingsError as e:
            raise CliError(f"{e} — awork is needed {why}", 2) from e
        except CliError as e:
            raise CliError(f"{e} — awork is needed {why}", e.code) from e
    finally:
        progress.close()


async def _from_awork(
    billing: Billing, period: Period, report: Findings, progress: Progress
) -> None:
    page = 1
    while True:
        step = functools.partial(_page, billing, period, page, report)
        attempts = billing.process.settings.awork_max_attempts
        chunk, evaluations = await POLICY.patiently(step, attempts)
        report.add(chunk.items, evaluations)
        progress.update(
            report.entries, total=chunk.total, note=page_note(page, chunk.total, PAGE_SIZE)
        )
        last = chunk.total is not None and chunk.total <= page * PAGE_SIZE
        if len(chunk.items) < PAGE_SIZE or last:
            return
        page += 1


async def _page(
    billing: Billing, period: Period, page: int, report: Findings
) -> tuple[EntryPage, list[Evaluation | Exception]]:
    """One page of the period and its evaluations (one attempt; safe to repeat)."""
    awork = billing.process.awork
    chunk = await awork.entries_page(period.filterby(), page, page_size=PAGE_SIZE)
    assessment = await billing.assess(chunk.items)
    _budgets(report, assessment)
    return chunk, [assessment.of(entry) for entry in chunk.items]


async def _from_file(
    billing: Billing, entries: list[dict[str, Any]], report: Findings, progress: Progress
) -> None:
    # a budget is evaluated whole: with budget rules, the file is one chunk
    size = (len(entries) or 1) if budgets.wanted(billing.rules) else PAGE_SIZE
    projects = {p for e in entries if (p := project_of(e))}
    for start in range(0, len(entries), size):
        chunk = entries[start : start + size]
        step = functools.partial(billing.assess, chunk, complete=projects)
        attempts = billing.process.settings.awork_max_attempts
        assessment = await POLICY.patiently(step, attempts)
        _budgets(report, assessment)
        report.add(chunk, [assessment.of(entry) for entry in chunk])
        progress.update(report.entries)


def _budgets(report: Findings, assessment: Assessment) -> None:
    if assessment.uses:
        report.budgets.add(assessment.uses, assessment.names(), assessment.by_id())


def _evaluate(entry: dict[str, Any], rules: RuleSet) -> Evaluation | Exception:
    try:
        return evaluate(entry, rules)
    except Exception as e:  # a rule error is reported, like the workers dead-letter it
        return e
