"""The `flush` job: drain the entries queued in one coalescing window and apply the rules to them.

1. Claim: the pending hash is renamed to `claimed:<job id>` (a crash re-run finds the same batch).
2. Skip what needs no work: deleted entries, and entries only the service's own API user touched
   (its writes echo back as webhooks — no loops).
3. Read the current state in bulk (`id in (…)`, ~150 ids a call) and refuse stale reads: a
   decision never uses an older `resourceVersion` than one already seen for that entry.
4. Evaluate the rules (pure) and apply the changes grouped by attribute and value, chunked, one
   bulk call per chunk; audit every write; dead-letter what awork refuses.
5. Each processed chunk is removed from the claim, so a retry resumes where it stopped.

Transient awork failures become `arq.Retry` with back-off; after `AWORK_MAX_ATTEMPTS` the rest of
the batch is dead-lettered with the last error.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from arq import Retry

from service.queue import CLAIM_LUA, IngestItem, PendingRecord
from service.store import text
from workers import deadletters, entities, manual
from workers.apply import Batch, apply_changes, entry_version
from workers.awork import AworkRateLimited, AworkRetryable
from workers.concurrency import gather_limited
from workers.context import WorkerApp
from workers.deadletters import DeadLetter

log = logging.getLogger(__name__)

CHUNK = 5000
"""Entries processed (and checkpointed) at a time within one flush: writes are grouped per
chunk, so a large chunk means fewer, fuller bulk calls."""
STALE_GIVE_UP_MS = 600_000
"""An entry awork keeps returning in an older version than announced is dead-lettered after this."""
VERSION_TTL = 7 * 86_400

T = TypeVar("T")


async def flush(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: apply the rules to every entry claimed for this job."""
    app: WorkerApp = ctx["app"]
    job_id: str = ctx["job_id"]
    claimed = await _claim(app, job_id)
    batch = Batch(job_id=job_id)
    # stop well before arq's timeout: what is left goes back to the queue for the next flush
    deadline = time.monotonic() + app.settings.flush_timeout_seconds / 2
    try:
        for ids in _chunks(sorted(claimed), CHUNK):
            if time.monotonic() > deadline:
                batch.count("handed_back", await give_back(app, app.keys.claimed(job_id)))
                break
            await _process(app, {i: claimed[i] for i in ids}, batch)
            await app.redis.hdel(app.keys.claimed(job_id), *ids)  # type: ignore[misc]
            await app.redis.delete(app.keys.attempts(job_id))  # progress: back-off starts over
    except AworkRateLimited as e:
        raise Retry(defer=(e.retry_after or 1.0) + random.uniform(0, 0.5)) from e
    except AworkRetryable as e:
        await _retry_or_give_up(app, job_id, e)
    await _release(app, job_id)
    for outcome, n in batch.counts.items():
        app.metrics.entries.labels(outcome).inc(n)
    log.info("flush done: %s", batch.counts, extra={"job_id": job_id})
    return batch.counts


async def _claim(app: WorkerApp, job_id: str) -> dict[str, PendingRecord]:
    keys = app.keys
    raw = await app.redis.eval(CLAIM_LUA, 3, keys.pending, keys.claimed(job_id), keys.claims)  # type: ignore[misc]
    pairs = iter(raw)
    return {text(k): PendingRecord.from_json(v) for k, v in zip(pairs, pairs, strict=True)}


async def give_back(app: WorkerApp, claim_key: str) -> int:
    """Return what is left of a claim to the queue — merged, like any event, with what arrived
    for those entries since — and drop the claim. Used when a flush runs out of time and by the
    sweeper for the claim of a job that is gone."""
    raw = await app.redis.hgetall(claim_key)  # type: ignore[misc]
    items = [IngestItem(text(k), PendingRecord.from_json(v)) for k, v in sorted(raw.items())]
    if items:
        await app.requeue.write(items)
    async with app.redis.pipeline(transaction=True) as pipe:
        pipe.delete(claim_key)
        pipe.srem(app.keys.claims, claim_key)
        await pipe.execute()
    return len(items)


async def _release(app: WorkerApp, job_id: str) -> None:
    async with app.redis.pipeline(transaction=True) as pipe:
        pipe.delete(app.keys.claimed(job_id), app.keys.attempts(job_id))
        pipe.srem(app.keys.claims, app.keys.claimed(job_id))
        await pipe.execute()


async def _retry_or_give_up(app: WorkerApp, job_id: str, error: AworkRetryable) -> None:
    attempts = int(await app.redis.incr(app.keys.attempts(job_id)))
    await app.redis.expire(app.keys.attempts(job_id), 86_400)
    if attempts < app.settings.awork_max_attempts:
        delay = min(60.0, 0.5 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
        log.warning("flush retry %d in %.1fs: %s", attempts, delay, error, extra={"job_id": job_id})
        raise Retry(defer=delay) from error
    left = await app.redis.hkeys(app.keys.claimed(job_id))  # type: ignore[misc]
    letters = [
        DeadLetter(
            text(i),
            "retries_exhausted",
            str(error),
            status=error.status,
            trace_id=error.trace_id or "",
        )
        for i in left
    ]
    await deadletters.add(app.redis, app.keys.dead, letters)
    app.metrics.dead_letters.labels("retries_exhausted").inc(len(letters))
    log.error(
        "flush gave up after %d attempts, %d entries dead-lettered: %s",
        attempts,
        len(letters),
        error,
        extra={"job_id": job_id},
    )


async def _process(app: WorkerApp, records: dict[str, PendingRecord], batch: Batch) -> None:
    changed_entities = {k: r for k, r in records.items() if entities.is_entity_key(k)}
    if changed_entities:
        await entities.refresh(app, changed_entities, batch)
    records = {k: r for k, r in records.items() if k not in changed_entities}
    live = {i: r for i, r in records.items() if _needs_work(app, r, batch)}
    entries: dict[str, dict[str, Any]] = {}
    chunks = _chunks(sorted(live), app.settings.awork_read_chunk_size)
    reads = (functools.partial(app.client.entries_by_id, ids) for ids in chunks)
    for found in await gather_limited(reads):
        entries.update(found)
    floors = await _known_versions(app, list(live))
    fresh: list[tuple[dict[str, Any], PendingRecord]] = []
    stale: dict[str, PendingRecord] = {}
    for entry_id, record in live.items():
        entry = entries.get(entry_id)
        if entry is None:
            batch.count("gone")
        elif entry_version(entry) < max(record.version, floors.get(entry_id, 0)):
            stale[entry_id] = record
        else:
            fresh.append((entry, record))
    await _remember_versions(app, entries.values())
    await _requeue_stale(app, stale, batch)
    locked = await manual.locks(app, [(str(e["id"]), r) for e, r in fresh])
    await apply_changes(app, fresh, batch, locked)


def _needs_work(app: WorkerApp, record: PendingRecord, batch: Batch) -> bool:
    if record.event == "timetracking_deleted":
        batch.count("deleted")
        return False
    if record.by and all(b == app.me for b in record.by):
        batch.count("echo")
        return False
    return True


async def _known_versions(app: WorkerApp, ids: Sequence[str]) -> dict[str, int]:
    if not ids:
        return {}
    values = await app.redis.mget([app.keys.version(i) for i in ids])
    return {i: int(v) for i, v in zip(ids, values, strict=True) if v is not None}


async def _remember_versions(app: WorkerApp, entries: Any) -> None:
    async with app.redis.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.set(app.keys.version(str(entry["id"])), entry_version(entry), ex=VERSION_TTL)
        await pipe.execute()


async def _requeue_stale(app: WorkerApp, stale: dict[str, PendingRecord], batch: Batch) -> None:
    """awork returned an older version than announced: try again in the next window."""
    now_ms = int(time.time() * 1000)
    give_up = {i: r for i, r in stale.items() if now_ms - r.first_seen_ms > STALE_GIVE_UP_MS}
    again = [IngestItem(i, r) for i, r in stale.items() if i not in give_up]
    if again:
        await app.requeue.write(again)
        batch.count("stale_requeued", len(again))
    if give_up:
        letters = [
            DeadLetter(i, "stale", f"awork kept returning a version older than {r.version}")
            for i, r in give_up.items()
        ]
        await deadletters.add(app.redis, app.keys.dead, letters)
        batch.count("stale_dead", len(give_up))


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
