"""The `flush` job: drain the entries queued in one coalescing window and apply the rules to them.

1. Claim: the pending hash is renamed to `claimed:<job id>` (a crash re-run finds the same batch).
2. Skip what needs no work: deleted entries, and entries only the service's own API user touched
   (its writes echo back as webhooks — no loops).
3. Read the current state in bulk (`id in (…)`, ~150 ids a call) and refuse stale reads: a
   decision never uses an older `resourceVersion` than one already seen for that entry.
4. Apply the rules (`Billing.apply`): evaluate, write in bulk, audit, dead-letter.
5. Each processed chunk is removed from the claim, so a retry resumes where it stopped.

Transient awork failures become `arq.Retry` with back-off (`workers.awork.retry`); after
`AWORK_MAX_ATTEMPTS` the rest of the batch is dead-lettered with the last error.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from arq import Retry

from service.contract.records import IngestItem, PendingRecord
from workers.apply.batch import Batch, Pending, entry_version
from workers.apply.billing import Billing
from workers.apply.deadletters import DeadLetter
from workers.apply.versions import VersionFloors
from workers.awork.concurrency import gather_limited
from workers.awork.errors import AworkRateLimited, AworkRetryable
from workers.awork.retry import POLICY
from workers.jobs import entities
from workers.jobs.lifecycle import billing_of, process_of
from workers.process import ProcessContext

log = logging.getLogger(__name__)

CHUNK = 5000
"""Entries processed (and checkpointed) at a time within one flush: writes are grouped per
chunk, so a large chunk means fewer, fuller bulk calls."""
STALE_GIVE_UP_MS = 600_000
"""An entry awork keeps returning in an older version than announced is dead-lettered after this."""

T = TypeVar("T")


async def flush(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: apply the rules to every entry claimed for this job."""
    process, billing = process_of(ctx), billing_of(ctx)
    job_id: str = ctx["job_id"]
    queue = process.queue
    claimed = await queue.claim(job_id)
    batch = Batch(job_id=job_id)
    # stop well before arq's timeout: what is left goes back to the queue for the next flush
    deadline = time.monotonic() + process.settings.flush_timeout_seconds / 2
    try:
        for ids in _chunks(sorted(claimed), CHUNK):
            if time.monotonic() > deadline:
                batch.count("handed_back", await queue.give_back(process.keys.claimed(job_id)))
                break
            await _process(process, billing, {i: claimed[i] for i in ids}, batch)
            await queue.done(job_id, list(ids))
            await process.redis.delete(process.keys.attempts(job_id))  # progress: back-off anew
    except AworkRateLimited as e:
        raise Retry(defer=POLICY.rate_limit_delay(e)) from e
    except AworkRetryable as e:
        await _retry_or_give_up(process, billing, job_id, e)
    await queue.release(job_id)
    await process.redis.delete(process.keys.attempts(job_id))
    for outcome, n in batch.counts.items():
        process.metrics.entries.labels(outcome).inc(n)
    log.info("flush done: %s", batch.counts, extra={"job_id": job_id})
    return batch.counts


async def _retry_or_give_up(
    process: ProcessContext, billing: Billing, job_id: str, error: AworkRetryable
) -> None:
    key = process.keys.attempts(job_id)
    attempts = int(await process.redis.incr(key))
    await process.redis.expire(key, 86_400)
    if attempts < process.settings.awork_max_attempts:
        delay = POLICY.backoff(attempts)
        log.warning("flush retry %d in %.1fs: %s", attempts, delay, error, extra={"job_id": job_id})
        raise Retry(defer=delay) from error
    left = await process.queue.left(job_id)
    error_text, status, trace = str(error), error.status, error.trace_id or ""
    letters = [
        DeadLetter(i, "retries_exhausted", error_text, status=status, trace_id=trace) for i in left
    ]
    await billing.records.dead_lettered(letters)
    message = "flush gave up after %d attempts, %d entries dead-lettered: %s"
    log.error(message, attempts, len(letters), error, extra={"job_id": job_id})


async def _process(
    process: ProcessContext, billing: Billing, records: dict[str, PendingRecord], batch: Batch
) -> None:
    changed_entities = {k: r for k, r in records.items() if entities.is_entity_key(k)}
    if changed_entities:
        await entities.refresh(process, billing, changed_entities, batch)
    records = {k: r for k, r in records.items() if k not in changed_entities}
    live = {i: r for i, r in records.items() if _needs_work(billing, r, batch)}
    entries: dict[str, dict[str, Any]] = {}
    chunks = _chunks(sorted(live), process.settings.awork_read_chunk_size)
    reads = (functools.partial(process.awork.entries_by_id, ids) for ids in chunks)
    for found in await gather_limited(reads):
        entries.update(found)
    versions = VersionFloors(process.redis, process.keys)
    floors = await versions.read(list(live))
    fresh: list[Pending] = []
    stale: dict[str, PendingRecord] = {}
    for entry_id, record in live.items():
        entry = entries.get(entry_id)
        if entry is None:
            batch.count("gone")
        elif entry_version(entry) < max(record.version, floors.get(entry_id, 0)):
            stale[entry_id] = record
        else:
            fresh.append(Pending(entry, record))
    await versions.remember(entries.values())
    await _requeue_stale(process, billing, stale, batch)
    # a deleted entry (its event, or gone when read) of a month-end close: the guard records it
    gone = {i: r for i, r in records.items() if r.event == "timetracking_deleted"}
    await billing.deleted({**gone, **{i: r for i, r in live.items() if i not in entries}}, batch)
    await billing.apply(fresh, batch)


def _needs_work(billing: Billing, record: PendingRecord, batch: Batch) -> bool:
    if record.event == "timetracking_deleted":
        batch.count("deleted")
        return False
    if record.by and all(b == billing.me for b in record.by):
        batch.count("echo")
        return False
    return True


async def _requeue_stale(
    process: ProcessContext, billing: Billing, stale: dict[str, PendingRecord], batch: Batch
) -> None:
    """awork returned an older version than announced: try again in the next window."""
    now_ms = int(time.time() * 1000)
    give_up = {i: r for i, r in stale.items() if now_ms - r.first_seen_ms > STALE_GIVE_UP_MS}
    again = [IngestItem(i, r) for i, r in stale.items() if i not in give_up]
    if again:
        await process.queue.add(again)
        batch.count("stale_requeued", len(again))
    letters = [
        DeadLetter(i, "stale", f"awork kept returning a version older than {r.version}")
        for i, r in give_up.items()
    ]
    await billing.records.dead_lettered(letters)
    if give_up:
        batch.count("stale_dead", len(give_up))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
