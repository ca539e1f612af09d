"""The `reconcile` job: converge the workspace even when webhooks are lost.

awork may pause the webhook, drop deliveries, or a Redis crash may lose the last second of
accepted events. Every `RECONCILE_INTERVAL_SECONDS` the sweep cron starts this job, which reads
the entries changed since a checkpoint (`<prefix>:reconcile:checkpoint`, an ISO datetime) and
applies the rules to them exactly as a flush does (`Billing.apply`: evaluate, group, bulk write,
audit, dead-letter), respecting attributes people locked (`respect_manual_changes`).

Reading: `filterby=updatedOn ge datetime'<cursor>'&orderby=updatedOn asc`, one page (1000) at a
time, keyset-style: after each page the cursor moves to the newest `updatedOn` of that page and
the next read starts again at page 1. Offset paging would skip entries here: every entry the
service fixes gets a new `updatedOn` and moves to the end of the order, shifting later pages
forward. Entries at the cursor are read twice, which costs a read and no write (the rules are
idempotent). Only when a whole page shares one `updatedOn` does the read move on by page number.

Checkpoint: saved after each applied page. While a backlog remains (at most `MAX_PAGES` pages or
half the job timeout per run) it is the exact cursor; once caught up, it is the newest `updatedOn`
seen minus `OVERLAP` (never earlier than where the run started), so that a change committed with
a slightly older timestamp than one already read (clock skew, long transactions) is read again
on the next run. It never passes an entry skipped because a flush had it (should that flush
fail, the next run reads the entry again). First run: `RECONCILE_LOOKBACK_HOURS` back.

Authors: entries last changed by the service's own API user are evaluated like every other (the
rules are idempotent; such an entry needs no write unless someone changed it since) and counted
as `by_service`. One run at a time (`<prefix>:reconcile:lock`).

Budgets (when a rule reads `budget.*`): a budget's figures change without any entry changing —
a retainer's carry-over after an earlier month's entries changed, a `timeBudget` edited while
the webhook was away, a new month. Each run reads afresh the projects and retainers of the
budgets evaluated before (one bulk read of the projects, one read of each retainer project's
retainers) and re-evaluates every budget whose seconds or `deductNonBillableHours` changed, or
that is new (`Billing.apply(touched=…)`); the uses of budgets that are gone are forgotten.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry

from service.contract.redis import text
from workers.apply import budgets
from workers.apply.batch import Batch, Pending
from workers.apply.billing import Billing
from workers.awork import filterby
from workers.awork.errors import AworkRateLimited, AworkRejected, AworkRetryable
from workers.awork.retry import POLICY
from workers.jobs.lifecycle import billing_of, process_of
from workers.process import ProcessContext

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
"""awork's largest page (api-notes 2.3)."""
MAX_PAGES = 20
"""Pages read per run at most; a larger backlog continues on the next run."""
OVERLAP = timedelta(seconds=60)
"""How far the checkpoint stays behind the newest change read, once caught up."""


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: apply the rules to entries changed since the last checkpoint."""
    process, billing = process_of(ctx), billing_of(ctx)
    job_id: str = ctx["job_id"]
    if not await _lock(process, job_id):
        log.info("reconcile skipped: another run holds the lock", extra={"job_id": job_id})
        return {"skipped": 1}
    batch = Batch(job_id=job_id)
    try:
        deadline = time.monotonic() + process.settings.flush_timeout_seconds / 2
        await _run(process, billing, batch, deadline)
        if budgets.wanted(billing.rules):
            await _budgets(billing, batch)
    except AworkRateLimited as e:
        raise Retry(defer=POLICY.rate_limit_delay(e)) from e
    except AworkRetryable as e:
        delay = POLICY.backoff(int(ctx.get("job_try", 1)) + 1)
        log.warning("reconcile retry in %.1fs: %s", delay, e, extra={"job_id": job_id})
        raise Retry(defer=delay) from e
    except AworkRejected as e:
        log.error("reconcile failed: %s (trace_id=%s)", e, e.trace_id, extra={"job_id": job_id})
        raise
    finally:
        await _unlock(process, job_id)
    for outcome, n in batch.counts.items():
        process.metrics.reconcile_entries.labels(outcome).inc(n)
    log.info("reconcile done: %s", batch.counts, extra={"job_id": job_id})
    return batch.counts


async def _run(process: ProcessContext, billing: Billing, batch: Batch, deadline: float) -> None:
    start = await read_checkpoint(process)
    cursor, newest, page = start, start, 1
    held: datetime | None = None
    # `held`: the oldest change skipped because a flush had it; the checkpoint never passes it
    for _ in range(MAX_PAGES):
        listing = await process.awork.entries_page(
            _filter(cursor), page, page_size=PAGE_SIZE, orderby="updatedOn asc"
        )
        entries = listing.items
        skipped = await _apply(process, billing, entries, batch)
        held = min(filter(None, [held, *map(_updated_on, skipped)]), default=None)
        newest = max([newest, *filter(None, map(_updated_on, entries))])
        if len(entries) < PAGE_SIZE:  # caught up
            await save_checkpoint(process, _held_back(max(start, newest - OVERLAP), held))
            return
        # a full page all at the cursor's instant: move on by page number instead
        cursor, page = (newest, 1) if newest > cursor else (cursor, page + 1)
        await save_checkpoint(process, _held_back(cursor, held))
        if time.monotonic() > deadline:
            break
    batch.count("backlog_left")


async def _budgets(billing: Billing, batch: Batch) -> None:
    """Re-evaluate the budgets whose figures changed; forget those gone (module docstring)."""
    changed, gone = await billing.budgets.changes()
    await billing.budgets.records.forget(gone)
    if changed:
        batch.count("budgets_changed", len(changed))
        await billing.apply([], batch, touched=changed)


def _held_back(checkpoint: datetime, held: datetime | None) -> datetime:
    return checkpoint if held is None else min(checkpoint, held)


async def _apply(
    process: ProcessContext, billing: Billing, entries: list[dict[str, Any]], batch: Batch
) -> list[dict[str, Any]]:
    """Apply the rules to `entries` a flush does not have; the ones it has (skipped)."""
    entries = [e for e in entries if isinstance(e.get("id"), str)]
    batch.count("read", len(entries))
    batch.count("pages")
    queued = await process.queue.queued([str(e["id"]) for e in entries])
    skipped = [e for e in entries if str(e["id"]) in queued]
    if skipped:  # a flush has them (or will): writing them here too would only double the calls
        batch.count("queued", len(skipped))
        entries = [e for e in entries if str(e["id"]) not in queued]
    own = sum(1 for e in entries if e.get("updatedBy") == billing.me)
    if own:
        batch.count("by_service", own)
    await billing.apply([Pending.read(e, "reconcile") for e in entries], batch)
    return skipped


async def read_checkpoint(process: ProcessContext) -> datetime:
    """Where the next run starts: the saved checkpoint, or `RECONCILE_LOOKBACK_HOURS` ago."""
    raw = await process.redis.get(process.keys.reconcile_checkpoint)
    saved = _parse(text(raw)) if raw else None
    lookback = timedelta(hours=process.settings.reconcile_lookback_hours)
    return saved or datetime.now(UTC) - lookback


async def save_checkpoint(process: ProcessContext, moment: datetime) -> None:
    await process.redis.set(process.keys.reconcile_checkpoint, moment.isoformat())


def _filter(cursor: datetime) -> str:
    return filterby.ge("updatedOn", filterby.moment(cursor))


def _updated_on(entry: dict[str, Any]) -> datetime | None:
    value = entry.get("updatedOn")
    return _parse(value) if isinstance(value, str) else None


def _parse(text: str) -> datetime | None:
    """An ISO 8601 instant (awork writes 7 fractional digits; the 7th is dropped, rounding
    down, so a `ge` on it still includes the entry); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _lock(process: ProcessContext, job_id: str) -> bool:
    key = process.keys.reconcile_lock
    ttl = process.settings.flush_timeout_seconds + 10
    if await process.redis.set(key, job_id, nx=True, ex=ttl):
        return True
    holder = await process.redis.get(key)
    return holder is not None and text(holder) == job_id  # a retry


async def _unlock(process: ProcessContext, job_id: str) -> None:
    key = process.keys.reconcile_lock
    holder = await process.redis.get(key)
    if holder is not None and text(holder) == job_id:
        await process.redis.delete(key)
