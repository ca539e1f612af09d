"""The queue: the protocol the web app and the workers share, behind one interface (`Queue`).

    add         a webhook (or a re-queue) merges its entry into `pending`, keeping the newest
                `resourceVersion`, and makes sure a flush job exists for the end of the current
                coalescing window — in arq's own job format, so arq workers run it like any
                other job (one Lua call for a whole group of requests). A person's first
                webhook after a quiet window gets a flush of its own at once instead (the
                leading edge, `grace_seconds`): a lone change need not wait for its window
    claim       a flush takes everything pending under its job id (`claimed:<job id>`): a
                crash re-run finds the same batch
    done        the entries a flush has finished leave its claim
    give_back   what is left of a claim goes back to `pending`, merged like any event with what
                arrived since (a flush out of time; the sweep, for the claim of a job that is gone)
    release     a flush that finished drops its (empty) claim

The key layout is in `service.contract.keys`, the scripts in `service.contract.scripts`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.records import IngestItem, IngestRow, PendingRecord
from service.contract.redis import text
from service.contract.script import DirectScript
from service.contract.scripts import CLAIM_LUA, ENSURE_FLUSH_LUA, INGEST_LUA
from service.contract.settings import Settings

FLUSH_FUNCTION = "flush"
"""Name of the arq job that drains `pending` (registered by the workers)."""

JOB_EXPIRES_MS = 86_400_000
"""arq's default `expires_extra_ms`: a flush job not started within a day is dropped by arq."""

HANDFUL = 20
"""Entries that may share a leading-edge flush: when more wait before it started, a burst is
under way and the flush moves to the end of its window (one read per 150 entries and one write
per change and 250 entries are cheapest when the whole burst shares them)."""


def serialize(obj: Any) -> bytes:
    """arq job serializer (JSON): the web side writes jobs from Lua, so both sides use JSON."""
    return orjson.dumps(obj)


def deserialize(data: bytes) -> Any:
    """arq job deserializer, the inverse of `serialize`."""
    return orjson.loads(data)


@dataclass(frozen=True)
class FlushSlot:
    """The flush job of the coalescing window that `now` falls in (it runs at the window's end)."""

    job_id: str
    run_at_ms: int

    @classmethod
    def for_time(cls, keys: Keys, window_seconds: float, now: float | None = None) -> FlushSlot:
        now = time.time() if now is None else now
        bucket = math.floor(now / window_seconds) + 1
        return cls(job_id=keys.flush_job_id(bucket), run_at_ms=int(bucket * window_seconds * 1000))

    @classmethod
    def leading(cls, keys: Keys, grace_seconds: float, now: float) -> FlushSlot:
        """A leading-edge flush: due `grace_seconds` after `now`."""
        now_ms = int(now * 1000)
        return cls(keys.lead_flush_job_id(now_ms), now_ms + int(grace_seconds * 1000))

    def job_data(self, now_ms: int) -> bytes:
        """The job as arq stores it (`arq.jobs.serialize_job`), in our JSON serializer."""
        return serialize({"t": None, "f": FLUSH_FUNCTION, "a": [], "k": {}, "et": now_ms})


@dataclass
class QueueStats:
    """The queue at a glance (also served as JSON on `GET /queue` for KEDA's metrics-api).

    `queued_entries` (pending and claimed) is what workers scale on: a backlog is one claimed
    flush job of thousands of entries, so ready jobs alone say nothing of the work left."""

    ready_jobs: int
    pending_entries: int
    oldest_ready_age_seconds: float
    dead_letters: int
    claimed_entries: int = 0
    queued_entries: int = 0


class Queue:
    """The pending -> claimed -> given-back protocol over one Redis (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        dedup_ttl: int,
        window_seconds: float,
        grace_seconds: float | None = None,
        own_connection: bool = False,
    ) -> None:
        """`grace_seconds`: the leading edge's grace (None: every event waits for its window).
        `own_connection`: the ingest goes out on a connection of its own, without redis-py's
        per-call layers (`DirectScript`: the web app's group commit); `aclose` gives it back."""
        self._redis = redis
        self.keys = keys
        self._dedup_ttl = dedup_ttl
        self._window = window_seconds
        self._grace = grace_seconds
        self._ingest: Any = (
            DirectScript(redis, INGEST_LUA) if own_connection else redis.register_script(INGEST_LUA)
        )
        self._claim: Any = redis.register_script(CLAIM_LUA)
        self._ensure: Any = redis.register_script(ENSURE_FLUSH_LUA)

    @classmethod
    def for_settings(
        cls, redis: Redis, settings: Settings, *, own_connection: bool = False
    ) -> Queue:
        """The queue of the installation `settings` describe (prefix, dedup TTL, window,
        leading edge)."""
        return cls(
            redis,
            Keys(settings.redis_prefix),
            dedup_ttl=settings.dedup_ttl_seconds,
            window_seconds=settings.coalesce_window_seconds,
            grace_seconds=(
                settings.coalesce_grace_seconds if settings.coalesce_leading_edge else None
            ),
            own_connection=own_connection,
        )

    async def aclose(self) -> None:
        """Give back the ingest's own connection, if it has one (the client stays open)."""
        if isinstance(self._ingest, DirectScript):
            await self._ingest.aclose()

    async def add(self, items: list[IngestItem]) -> list[bool]:
        """Merge `items` into `pending` in one Lua call; per item True when it was new, False
        for a duplicate delivery. Raises on Redis errors."""
        return await self.add_rows([item.row() for item in items])

    async def add_rows(self, rows: list[IngestRow], *, leading: bool = False) -> list[bool]:
        """`add` for entries already in their written form (the web app's hot path).

        `leading`: these are webhooks just received, so a person's first after a quiet window
        gets a flush at once (re-queues wait for their window: they had their flush).
        """
        if not rows:
            return []
        now = time.time()
        slot = FlushSlot.for_time(self.keys, self._window, now)
        lead = FlushSlot.leading(self.keys, self._grace or 0.0, now)
        keys = [
            self.keys.pending,
            self.keys.queue,
            *self._job_keys(slot.job_id),
            *self._job_keys(lead.job_id),
            self.keys.coalescing,
            self.keys.me,
        ]
        leading = leading and self._grace is not None
        batch = orjson.dumps([field for row in rows for field in row])
        argv = [*self._ingest_args(slot, lead, int(now * 1000), leading=leading), batch]
        return [bool(r) for r in await self._ingest(keys=keys, args=argv)]

    def _ingest_args(
        self, slot: FlushSlot, lead: FlushSlot, now_ms: int, *, leading: bool
    ) -> list[str | bytes]:
        """The ingest script's arguments before the batch (`scripts.INGEST_LUA`)."""
        window_ms = int(self._window * 1000)
        return [
            str(self._dedup_ttl),
            self.keys.dedup(""),
            slot.job_data(now_ms),
            str(JOB_EXPIRES_MS),
            slot.job_id,
            str(slot.run_at_ms),
            lead.job_id,
            str(lead.run_at_ms) if leading else "",
            # the marker lasts a window past the flush it announces
            str(lead.run_at_ms + window_ms - now_ms),
            str(slot.run_at_ms + window_ms - now_ms),
            str(HANDFUL),
        ]

    async def claim(self, job_id: str) -> dict[str, PendingRecord]:
        """Take everything pending for flush job `job_id` (or what it took before a crash)."""
        keys = [self.keys.pending, self.keys.claimed(job_id), self.keys.claims]
        raw = await self._claim(keys=keys)
        pairs = iter(raw)
        return {text(k): PendingRecord.from_json(v) for k, v in zip(pairs, pairs, strict=True)}

    async def done(self, job_id: str, entry_ids: list[str]) -> None:
        """`entry_ids` are finished: they leave the claim (a re-run resumes after them)."""
        if entry_ids:
            await self._redis.hdel(self.keys.claimed(job_id), *entry_ids)  # type: ignore[misc]

    async def left(self, job_id: str) -> dict[str, PendingRecord]:
        """The entries of `job_id`'s claim not yet done, with their records."""
        raw = await self._redis.hgetall(self.keys.claimed(job_id))  # type: ignore[misc]
        return {text(k): PendingRecord.from_json(v) for k, v in sorted(raw.items())}

    async def give_back(self, claim_key: str) -> int:
        """Return what is left of a claim to `pending` (merged with what arrived since) and
        drop the claim; how many entries went back."""
        raw = await self._redis.hgetall(claim_key)  # type: ignore[misc]
        items = [IngestItem(text(k), PendingRecord.from_json(v)) for k, v in sorted(raw.items())]
        await self.add(items)
        await self._drop(claim_key)
        return len(items)

    async def release(self, job_id: str) -> None:
        """Drop `job_id`'s claim (its flush finished, or dead-lettered what was left)."""
        await self._drop(self.keys.claimed(job_id))

    async def orphaned_claims(self) -> list[str]:
        """Claims whose flush job is gone: neither queued nor running (it failed for good, or
        arq dropped it)."""
        orphans = []
        for raw in await self._redis.smembers(self.keys.claims):  # type: ignore[misc]
            claim = text(raw)
            job_id = self.keys.job_of_claim(claim)
            if not await self._redis.exists(Keys.arq_job(job_id), Keys.arq_in_progress(job_id)):
                orphans.append(claim)
        return sorted(orphans)

    async def queued(self, entry_ids: list[str]) -> set[str]:
        """Which of `entry_ids` wait in `pending` or in a flush's claim right now."""
        if not entry_ids:
            return set()
        claims = [text(c) for c in await self._redis.smembers(self.keys.claims)]  # type: ignore[misc]
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in [self.keys.pending, *claims]:
                pipe.hmget(key, entry_ids)
            found = await pipe.execute()
        return {
            i for values in found for i, v in zip(entry_ids, values, strict=True) if v is not None
        }

    async def ensure_flush(self) -> bool:
        """Schedule the current window's flush when entries wait and none is queued."""
        now = time.time()
        slot = FlushSlot.for_time(self.keys, self._window, now)
        keys = [self.keys.pending, self.keys.queue, *self._job_keys(slot.job_id)]
        argv = [str(slot.run_at_ms), slot.job_data(int(now * 1000)), str(JOB_EXPIRES_MS)]
        return bool(await self._ensure(keys=keys, args=[*argv, slot.job_id]))

    async def busy(self) -> bool:
        """True while entries are pending or claimed, or a flush job is queued or running (arq
        keeps a job in its queue until it finished)."""
        if await self._redis.exists(self.keys.pending):
            return True
        if await self._redis.scard(self.keys.claims):  # type: ignore[misc]
            return True
        jobs = await self._redis.zrange(self.keys.queue, 0, -1)
        return any(b":flush:" in job for job in jobs)

    async def stats(self, now_ms: int | None = None) -> QueueStats:
        """Ready jobs, pending and claimed entries, age of the oldest ready job, dead letters."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        claims = [text(c) for c in await self._redis.smembers(self.keys.claims)]  # type: ignore[misc]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(self.keys.queue, "-inf", now_ms)
            pipe.zrangebyscore(self.keys.queue, "-inf", now_ms, start=0, num=1, withscores=True)
            pipe.hlen(self.keys.pending)
            pipe.hlen(self.keys.dead)
            for claim in claims:
                pipe.hlen(claim)
            ready, oldest, pending, dead, *claimed = await pipe.execute()
        age = max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else 0.0
        in_claims = sum(int(n) for n in claimed)
        stats = QueueStats(int(ready), int(pending), age, int(dead), in_claims)
        stats.queued_entries = stats.pending_entries + in_claims
        return stats

    def _job_keys(self, job_id: str) -> list[str]:
        return [Keys.arq_job(job_id), Keys.arq_result(job_id)]

    async def _drop(self, claim_key: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(claim_key)
            pipe.srem(self.keys.claims, claim_key)
            await pipe.execute()
