"""The `flush` job: drain the entries queued in one coalescing window and apply the rules to them.

1. Claim: the pending hash is renamed to `claimed:<job id>` (a crash re-run finds the same batch).
2. Skip what needs no work: deleted entries, and entries only the service's own API user touched
   (its writes echo back as webhooks — no loops).
3. Read the current state in bulk (`id in (…)`, ~150 ids a call) and apply the rules
   (`Billing.apply`: stale reads refused, evaluate, write in bulk, audit, dead-letter).
4. Each processed chunk is removed from the claim, so a retry resumes where it stopped.

Nothing strands a claim — the job boundary is total:
- awork unwell (429, 5xx, timeouts): `arq.Retry` with back-off (`workers.awork.retry`) until
  `AWORK_GIVE_UP_AFTER_SECONDS` of failing, then what is left is dead-lettered
  (`retries_exhausted`); Redis unwell: `arq.Retry`, the claim waits in Redis;
- awork refusing a read for good (400/401/403/404): the entries it concerns are dead-lettered
  (`rejected`, with awork's error and Trace-Id) and the rest goes on;
- anything unexpected: the chunk is halved until the entry that fails is found; it goes back to
  the queue with a failure count, and after `MAX_FAILURES` rounds is dead-lettered (`failed`,
  with the exception) — one bad entry never holds up the others;
- out of time (half of `FLUSH_TIMEOUT_SECONDS`, checked before every awork call): what is left
  goes back to the queue for the next flush.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.contract.records import IngestItem, PendingRecord
from workers.apply.batch import Batch, OutOfTime, Pending
from workers.apply.billing import Billing
from workers.apply.deadletters import DeadLetter
from workers.awork.concurrency import gather_limited
from workers.awork.errors import AworkRateLimited, AworkRejected, AworkRetryable
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
MAX_FAILURES = 3
"""Flushes an entry may fail unexpectedly before it is dead-lettered (`failed`)."""

T = TypeVar("T")


async def flush(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: apply the rules to every entry claimed for this job."""
    process, billing = process_of(ctx), billing_of(ctx)
    job_id: str = ctx["job_id"]
    try:
        return await _flush(process, billing, job_id)
    except AworkRateLimited as e:
        raise Retry(defer=POLICY.rate_limit_delay(e)) from e
    except AworkRetryable as e:
        await _retry_or_give_up(process, billing, job_id, e)
        return await _finish(process, Batch(job_id=job_id, counts={"gave_up": 1}))
    except (RedisConnectionError, RedisTimeoutError) as e:  # the claim waits in Redis
        delay = POLICY.backoff(int(ctx.get("job_try", 1)))
        log.warning("flush retry in %.1fs: Redis: %s", delay, e, extra={"job_id": job_id})
        raise Retry(defer=delay) from e


async def _flush(process: ProcessContext, billing: Billing, job_id: str) -> dict[str, int]:
    queue = process.queue
    claimed = await queue.claim(job_id)
    # stop well before arq's timeout: what is left goes back to the queue for the next flush
    deadline = time.monotonic() + process.settings.flush_timeout_seconds / 2
    batch = Batch(job_id=job_id, deadline=deadline)
    for ids in _chunks(sorted(claimed), CHUNK):
        try:
            await _safely(process, billing, {i: claimed[i] for i in ids}, batch)
        except OutOfTime:
            batch.count("handed_back", await queue.give_back(process.keys.claimed(job_id)))
            break
        await queue.done(job_id, list(ids))
        await process.redis.delete(process.keys.attempts(job_id))  # progress: back-off anew
    return await _finish(process, batch)


async def _finish(process: ProcessContext, batch: Batch) -> dict[str, int]:
    await process.queue.release(batch.job_id)
    await process.redis.delete(process.keys.attempts(batch.job_id))
    for outcome, n in batch.counts.items():
        process.metrics.entries.labels(outcome).inc(n)
    log.info("flush done: %s", batch.counts, extra={"job_id": batch.job_id})
    return batch.counts


PASS_THROUGH = (AworkRetryable, OutOfTime, RedisConnectionError, RedisTimeoutError)
"""Failures the whole job answers (a retry, a hand-back), not one entry."""


async def _safely(
    process: ProcessContext, billing: Billing, records: dict[str, PendingRecord], batch: Batch
) -> None:
    """`_process`, or on an unexpected error, find the entry it comes from (`_isolate`)."""
    try:
        await _process(process, billing, records, batch)
    except PASS_THROUGH:
        raise
    except Exception as error:
        await _isolate(process, billing, records, error, batch)


async def _isolate(
    process: ProcessContext,
    billing: Billing,
    records: dict[str, PendingRecord],
    error: Exception,
    batch: Batch,
) -> None:
    """Halve `records` until the failing entry is alone; it goes back with a failure counted.
    When both halves fail it is no single bad entry: all of them go back with a failure."""
    if len(records) == 1:
        await _strike(process, billing, records, error, batch)
        return
    ids = sorted(records)
    failing: list[tuple[dict[str, PendingRecord], Exception]] = []
    for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
        part = {i: records[i] for i in half}
        try:
            await _process(process, billing, part, batch)
        except PASS_THROUGH:
            raise
        except Exception as e:
            failing.append((part, e))
    if len(failing) == 2:
        await _strike(process, billing, records, error, batch)
    elif failing:
        await _isolate(process, billing, *failing[0], batch)


async def _strike(
    process: ProcessContext,
    billing: Billing,
    records: dict[str, PendingRecord],
    error: Exception,
    batch: Batch,
) -> None:
    """`records` failed unexpectedly once more: back to the queue, or dead-lettered."""
    extra = {"job_id": batch.job_id}
    log.error("flush failed on %d entries: %r", len(records), error, extra=extra, exc_info=error)
    again = {i: r for i, r in records.items() if r.failures + 1 < MAX_FAILURES}
    items = [IngestItem(i, _with_failure(r)) for i, r in again.items()]
    await process.queue.add(items)
    letters = [
        DeadLetter(i, "failed", repr(error), first_seen_ms=r.first_seen_ms)
        for i, r in records.items()
        if i not in again
    ]
    await billing.records.dead_lettered(letters)
    batch.count("failed_requeued", len(items))
    batch.count("failed_dead", len(letters))


def _with_failure(record: PendingRecord) -> PendingRecord:
    return PendingRecord(
        version=record.version,
        event=record.event,
        by=record.by,
        changed=record.changed,
        first_seen_ms=record.first_seen_ms,
        failures=record.failures + 1,
        page=record.page,
    )


async def _retry_or_give_up(
    process: ProcessContext, billing: Billing, job_id: str, error: AworkRetryable
) -> None:
    """Back off and retry, until awork has been failing for `AWORK_GIVE_UP_AFTER_SECONDS`
    (since this job's first failure after its last progress); then dead-letter what is left."""
    since, tries = await _failing(process, job_id)
    failing_for = time.time() - since
    if failing_for < process.settings.awork_give_up_after_seconds:
        delay = POLICY.backoff(tries)
        log.warning("flush retry %d in %.1fs: %s", tries, delay, error, extra={"job_id": job_id})
        raise Retry(defer=delay) from error
    left = await process.queue.left(job_id)
    error_text, status, trace = str(error), error.status, error.trace_id or ""
    letters = [
        DeadLetter(
            i,
            "retries_exhausted",
            error_text,
            status=status,
            trace_id=trace,
            first_seen_ms=record.first_seen_ms,
        )
        for i, record in left.items()
    ]
    await billing.records.dead_lettered(letters)
    message = "flush gave up after %.0f s of failures (%d tries), %d entries dead-lettered: %s"
    log.error(message, failing_for, tries, len(letters), error, extra={"job_id": job_id})


async def _failing(process: ProcessContext, job_id: str) -> tuple[float, int]:
    """Since when and how often this job has failed (reset by progress: the key is dropped)."""
    key = process.keys.attempts(job_id)
    ttl = int(process.settings.awork_give_up_after_seconds) + 86_400
    async with process.redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(key, "since", str(time.time()))
        pipe.hincrby(key, "tries", 1)
        pipe.expire(key, ttl)
        pipe.hget(key, "since")
        _, tries, _, since = await pipe.execute()
    return float(since), int(tries)


async def _process(
    process: ProcessContext, billing: Billing, records: dict[str, PendingRecord], batch: Batch
) -> None:
    changed_entities = {k: r for k, r in records.items() if entities.is_entity_key(k)}
    if changed_entities:
        await entities.refresh(process, billing, changed_entities, batch)
    live = {
        i: r
        for i, r in records.items()
        if i not in changed_entities and _needs_work(billing, r, batch)
    }
    entries, refused = await _read(process, billing, live, batch)
    items: list[Pending] = []
    for entry_id, record in live.items():
        entry = entries.get(entry_id)
        if entry is not None:
            items.append(Pending(entry, record))
        elif entry_id not in refused:
            batch.count("gone")
    # a deleted entry (its event, or gone when read) of a month-end close: the guard records it
    gone = {i: r for i, r in records.items() if r.event == "timetracking_deleted"}
    missing = {i: r for i, r in live.items() if i not in entries and i not in refused}
    await billing.deleted({**gone, **missing}, batch)
    # deleted entries leave their budgets: the entries after them are decided again
    stale = await billing.apply(items, batch, departed=[*gone, *missing])
    await _requeue_stale(process, billing, stale, batch)


async def _read(
    process: ProcessContext, billing: Billing, live: dict[str, PendingRecord], batch: Batch
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The current state of `live` entries in bulk, several reads in flight; a read awork
    refuses for good dead-letters its entries (the others go on)."""
    refused: set[str] = set()

    async def read(ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        batch.check_time()
        try:
            return await process.awork.entries_by_id(ids)
        except AworkRejected as e:
            refused.update(ids)
            letters = [_rejected(i, live[i], e) for i in ids]
            await billing.records.dead_lettered(letters)
            batch.count("rejected", len(ids))
            return {}

    chunks = _chunks(sorted(live), process.settings.awork_read_chunk_size)
    entries: dict[str, dict[str, Any]] = {}
    for found in await gather_limited(functools.partial(read, ids) for ids in chunks):
        entries.update(found)
    return entries, refused


def _rejected(entry_id: str, record: PendingRecord, error: AworkRejected) -> DeadLetter:
    trace = error.trace_id or ""
    first = record.first_seen_ms
    status = error.status
    return DeadLetter(
        entry_id, "rejected", str(error), status=status, trace_id=trace, first_seen_ms=first
    )


def _needs_work(billing: Billing, record: PendingRecord, batch: Batch) -> bool:
    if record.event == "timetracking_deleted":
        batch.count("deleted")
        return False
    if record.by and all(b == billing.me for b in record.by):
        batch.count("echo")
        return False
    return True


async def _requeue_stale(
    process: ProcessContext, billing: Billing, stale: list[Pending], batch: Batch
) -> None:
    """awork returned an older version than announced: try again in the next window."""
    now_ms = int(time.time() * 1000)
    expired = [s for s in stale if now_ms - s.record.first_seen_ms > STALE_GIVE_UP_MS]
    again = [IngestItem(s.entry_id, s.record) for s in stale if s not in expired]
    if again:
        await process.queue.add(again)
        batch.count("stale_requeued", len(again))
    letters = [
        DeadLetter(
            s.entry_id,
            "stale",
            f"awork kept returning a version older than {s.record.version}",
            first_seen_ms=s.record.first_seen_ms,
        )
        for s in expired
    ]
    await billing.records.dead_lettered(letters)
    if letters:
        batch.count("stale_dead", len(letters))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
