"""The queue's numbers: what workers scale on counts the claimed entries too."""

from __future__ import annotations

from redis.asyncio import Redis

from service.contract import IngestItem, Keys, PendingRecord, Queue

IDS = [f"6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a{i:02d}" for i in range(10)]


async def test_queued_entries_are_pending_and_claimed(redis: Redis, prefix: str) -> None:
    queue = Queue(redis, Keys(prefix), dedup_ttl=60, window_seconds=1)
    await queue.add([IngestItem(i, PendingRecord()) for i in IDS[:7]])
    await queue.claim(f"{prefix}:flush:1")  # a flush took those seven
    await queue.add([IngestItem(i, PendingRecord()) for i in IDS[7:]])
    stats = await queue.stats()
    assert (stats.pending_entries, stats.claimed_entries, stats.queued_entries) == (3, 7, 10)
