"""`awork-billing backfill`: apply the rules to past entries — in bulk, in budget, resumably.

Page by page (`GET /timeentries?filterby=startDateUtc ge … and startDateUtc le …`, 1000 a page,
ordered by start and id: the service's own writes change neither, so no entry moves to another
page while the period is being fixed), each page goes through `Billing.apply`, exactly as the
workers' flushes do: rules evaluated with the workspace data they read, changes grouped into bulk
writes through the shared rate limiter, every change audited (job `backfill:<hash>:p<page>`),
refusals dead-lettered, attributes locked by `respect_manual_changes` kept. `--dry-run` (or
`DRY_RUN=true`) writes nothing and audits the would-be changes with outcome `dry_run`.

Budgets (rules on `budget.*`): a page's entries are decided within their budgets, each budget
read and evaluated whole, in order (`Billing.apply`) — so entries of a budget that lie outside
the period (earlier in a retainer month, anywhere in a project with its own budget) may change
too: their decisions depend on each other. They count as changed entries; the outcomes show
`budgets` (evaluated), `budget_entries` (read beyond the page) and `budget_changed`.

After each page, a checkpoint in Redis — `<prefix>:backfill:<hash of the arguments>`, a JSON
object with the last page done and the totals so far — lets a rerun with the same arguments
continue after an interruption (Ctrl-C, a crash, awork failing for longer than
`AWORK_MAX_ATTEMPTS` tries); `--restart` starts over; a finished backfill deletes its checkpoint.
A page redone after a crash costs reads, not wrong writes: re-evaluated on fresh data, what was
already fixed needs no change. Writes made in a page that was interrupted are still counted (the
checkpoint is saved on the way out), so the final summary covers the whole job.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.settings import Settings, load_settings
from workers.apply.batch import Batch, Pending
from workers.apply.billing import Billing
from workers.awork.client import EntryPage
from workers.awork.retry import POLICY
from workers.cli.operator import CliError, operator_billing
from workers.cli.period import Period
from workers.cli.progress import Progress, page_note
from workers.cli.tables import counted, table
from workers.cli.tally import Tally
from workers.telemetry import WorkerMetrics

CHECKPOINT_TTL_SECONDS = 30 * 86_400
"""An abandoned backfill's checkpoint is forgotten after a month."""


@dataclass(frozen=True)
class Plan:
    """What to backfill and how: the arguments that identify a run (and its checkpoint)."""

    period: Period
    dry_run: bool
    page_size: int = 1000

    @property
    def digest(self) -> str:
        """A short hash of the arguments: a rerun with the same ones finds the checkpoint."""
        args = {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "project": self.period.project,
            "dry_run": self.dry_run,
            "page_size": self.page_size,
        }
        return hashlib.sha256(json.dumps(args, sort_keys=True).encode()).hexdigest()[:16]

    def checkpoint_key(self, prefix: str) -> str:
        return Keys(prefix).backfill(self.digest)


@dataclass
class Checkpoint:
    """The last page done and the totals so far, as one JSON value with a TTL."""

    redis: Redis
    key: str

    async def load(self) -> tuple[int, Tally]:
        raw = await self.redis.get(self.key)
        if raw is None:
            return 0, Tally()
        data = json.loads(raw)
        return int(data["page"]), Tally.from_dict(data["totals"])

    async def save(self, page: int, totals: Tally) -> None:
        value = json.dumps({"page": page, "totals": totals.as_dict(), "at": time.time()})
        await self.redis.set(self.key, value, ex=CHECKPOINT_TTL_SECONDS)

    async def clear(self) -> None:
        await self.redis.delete(self.key)


@dataclass
class Run:
    """A backfill in progress: where it started and what it has done (for the summary)."""

    plan: Plan
    resumed_after: int = 0
    page: int = 0
    totals: Tally = field(default_factory=Tally)
    stopping: bool = False
    """Ctrl-C was pressed: stop after the page in hand."""

    def hint(self) -> str:
        """What to do after an interruption."""
        if self.page <= 0:
            return "nothing done yet"
        return (
            f"progress saved after page {self.page}; run the same command again to "
            "continue (or add --restart)"
        )


async def backfill(billing: Billing, run: Run, *, restart: bool, progress: Progress) -> None:
    """Fix every page of `run.plan.period`, checkpointing after each; updates `run`."""
    process = billing.process
    checkpoint = Checkpoint(process.redis, run.plan.checkpoint_key(process.keys.prefix))
    if restart:
        await checkpoint.clear()
    run.resumed_after, base = await checkpoint.load()
    run.page = run.resumed_after
    progress.start_at(base.entries)
    this = Tally()
    try:
        while True:
            page = run.page + 1
            step = functools.partial(_fix_page, billing, run.plan, page, this)
            chunk = await POLICY.patiently(step, process.settings.awork_max_attempts)
            run.page = page
            run.totals = base + this + Tally.from_metrics(process.metrics)
            await checkpoint.save(page, run.totals)
            note = page_note(page, chunk.total, run.plan.page_size)
            progress.update(run.totals.entries, total=chunk.total, note=note)
            if _last(chunk, run.plan.page_size):
                break
            if run.stopping:
                raise CliError("stopped (Ctrl-C)", 130)
    except BaseException:  # Ctrl-C or a failure mid-page: keep the count of writes made in it
        with contextlib.suppress(Exception):
            await checkpoint.save(run.page, base + this + Tally.from_metrics(process.metrics))
        raise
    await checkpoint.clear()


async def _fix_page(billing: Billing, plan: Plan, page: int, tally: Tally) -> EntryPage:
    """Read page `page` and apply the rules to it (one attempt; safe to repeat)."""
    expression = plan.period.filterby()
    chunk = await billing.process.awork.entries_page(expression, page, page_size=plan.page_size)
    # the audit trail's trigger: `backfill by <operator> (v<resourceVersion>)`
    who = [os.environ.get("USER") or "operator"]
    items = [Pending.read(entry, "backfill", who) for entry in chunk.items if entry.get("id")]
    batch = Batch(job_id=f"backfill:{plan.digest}:p{page}")
    try:
        await billing.apply(items, batch)
    finally:  # writes made before a failure happened: count them
        tally.count_writes(batch.counts)
    tally.count_page(len(chunk.items), batch.counts)
    _count_budgets(tally, batch)
    return chunk


BUDGET_OUTCOMES = ("budgets", "budget_entries", "budget_changed", "budget_thresholds")
"""`Batch` counts of budget-aware evaluation, shown with the outcomes."""


def _count_budgets(tally: Tally, batch: Batch) -> None:
    """Entries of the page's budgets outside the page that changed count as changed too."""
    tally.changed_entries += batch.counts.get("budget_changed", 0)
    tally.outcomes.update({k: n for k, n in batch.counts.items() if k in BUDGET_OUTCOMES and n})


def _last(chunk: EntryPage, page_size: int) -> bool:
    if len(chunk.items) < page_size:
        return True
    return chunk.total is not None and chunk.total <= chunk.page * page_size


def command(args: argparse.Namespace) -> int:
    """`awork-billing backfill --from D --to D [--project ID] [--dry-run] [--restart] [--json]`."""
    settings = load_settings()
    if args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}", 2)
    dry_run = args.dry_run or settings.dry_run
    run = Run(Plan(Period(args.start, args.end, args.project), dry_run, args.page_size))
    started = time.monotonic()
    try:
        asyncio.run(_main(settings.model_copy(update={"dry_run": dry_run}), run, args.restart))
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise CliError(f"interrupted; {run.hint()}", 130) from None
    except CliError as e:
        raise CliError(f"{e}; {run.hint()}" if run.page else str(e), e.code) from e
    summary = Summary(run, time.monotonic() - started)
    print(json.dumps(summary.as_dict(), indent=2) if args.json else "\n".join(summary.lines()))
    return 0


async def _main(settings: Settings, run: Run, restart: bool) -> None:
    progress = Progress("backfill", unit="entries")
    try:
        async with operator_billing(settings, WorkerMetrics()) as billing:
            with _gentle_ctrl_c(run):
                await backfill(billing, run, restart=restart, progress=progress)
    finally:
        progress.close()


@contextlib.contextmanager
def _gentle_ctrl_c(run: Run) -> Iterator[None]:
    """Ctrl-C once: finish the page in hand — a write cut off in flight may be made by awork but
    never audited — then stop; Ctrl-C twice: stop at once."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()

    def on_ctrl_c() -> None:
        if run.stopping and task is not None:
            task.cancel()
            return
        run.stopping = True
        if sys.stderr.isatty():
            print(
                "\nawork-billing: stopping after this page (Ctrl-C again: at once)", file=sys.stderr
            )

    try:
        loop.add_signal_handler(signal.SIGINT, on_ctrl_c)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread; Windows
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


@dataclass
class Summary:
    """The end of a backfill, for people (`lines`) and scripts (`as_dict`)."""

    run: Run
    elapsed: float

    def as_dict(self) -> dict[str, Any]:
        plan, totals = self.run.plan, self.run.totals
        return {
            "period": plan.period.describe(),
            "from": plan.period.start.isoformat(),
            "to": plan.period.end.isoformat(),
            "project": plan.period.project,
            "dry_run": plan.dry_run,
            "resumed_after_page": self.run.resumed_after,
            "elapsed_seconds": round(self.elapsed, 3),
            **totals.as_dict(),
            "awork_calls": sum(totals.calls.values()),
        }

    def lines(self) -> list[str]:
        plan, totals = self.run.plan, self.run.totals
        out = [
            f"Backfill {plan.period.describe()}: {counted(totals.entries, 'entry', 'entries')} "
            f"read in {counted(totals.pages, 'page')}, {totals.changed_entries} needed changes "
            f"({self.elapsed:.1f} s)."
        ]
        if self.run.resumed_after:
            out.append(
                f"Resumed after page {self.run.resumed_after} of an earlier run; "
                "the totals include it."
            )
        if plan.dry_run:
            out.append(
                "Dry run: nothing was written; the audit log holds the would-be "
                "changes (outcome dry_run)."
            )
        verb = "would change" if plan.dry_run else "changed"
        rows = [
            {"rule": key.split(":", 1)[0], "attribute": key.split(":", 1)[1], verb: n}
            for key, n in sorted(totals.changes.items())
        ]
        out += ["", *(table(rows, ["rule", "attribute", verb]) if rows else ["No changes."]), ""]
        out.append(f"Outcomes: {_listing(totals.outcomes)}")
        dead = sum(totals.dead_letters.values())
        see = f" ({_listing(totals.dead_letters)}); see `awork-billing dead-letters list`"
        out.append(f"Dead-lettered: {dead}{see if dead else ''}")
        out.append(f"awork calls: {sum(totals.calls.values())} ({_listing(totals.calls)})")
        return out


def _listing(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"
