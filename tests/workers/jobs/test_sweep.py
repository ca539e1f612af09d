"""The sweep gives an orphaned claim (its flush job is gone) back to the queue, merged with
what arrived for those entries since."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from service.contract import IngestItem, PendingRecord
from tests.support.config import make_settings
from workers.jobs.sweep import restore_orphans
from workers.process import ProcessContext

A, B = "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10", "7a2e6f54-9b54-4e5c-8f80-1e7b9d2c3b21"


async def test_an_orphaned_claim_goes_back_to_the_queue(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    process = ProcessContext.create(make_settings(prefix, rules_file), redis=redis)
    try:
        keys, queue = process.keys, process.queue
        first = [
            IngestItem(A, PendingRecord(version=5, by=["alice"])),
            IngestItem(B, PendingRecord(version=1)),
        ]
        await queue.add(first)
        claim = keys.claimed(f"{prefix}:flush:1")  # a job that no longer exists
        await redis.rename(keys.pending, claim)
        await redis.sadd(keys.claims, claim)  # type: ignore[misc]
        await redis.delete(keys.queue)
        # a newer event for A arrived after the claim
        await queue.add([IngestItem(A, PendingRecord(version=7, by=["bob"]))])
        assert await restore_orphans(process) == 2
        pending = await redis.hgetall(keys.pending)  # type: ignore[misc]
        a = PendingRecord.from_json(pending[A.encode()])
        assert (a.version, sorted(a.by)) == (7, ["alice", "bob"])
        assert PendingRecord.from_json(pending[B.encode()]).version == 1
        assert not await redis.exists(claim)
        assert await redis.scard(keys.claims) == 0  # type: ignore[misc]
        assert await queue.busy()  # a flush is scheduled for them
        assert await restore_orphans(process) == 0
    finally:
        await process.aclose()
