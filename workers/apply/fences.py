"""Write fences: each change is written once per version of an entry, whoever computes it.

Two writers can decide the same change from the same read: two flushes whose windows both held
an entry, or the reconciliation sweep and a flush. Writes are idempotent, so the end state is
right either way, but the second call is wasted and the audit log would show the change twice.
After a write, `<prefix>:fence:<entry>:<attribute>` holds the version the decision was based on;
a writer whose read is not newer skips that change (counted as `already_written`). A person
changing the entry later makes a newer version, so the rules apply again as they should.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from service.contract.keys import Keys
from workers.apply.batch import Write

TTL_SECONDS = 86_400


class Fences:
    """The fences of one installation."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def unwritten(self, writes: Sequence[Write]) -> list[Write]:
        """The writes no writer has made yet for (at least) the version they were decided on."""
        if not writes:
            return []
        fences = await self._redis.mget([self._key(w) for w in writes])
        return [
            w
            for w, fence in zip(writes, fences, strict=True)
            if fence is None or int(fence) < w.version
        ]

    async def mark(self, writes: Sequence[Write]) -> None:
        """Record that `writes` were made for the versions they were decided on."""
        if not writes:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for write in writes:
                pipe.set(self._key(write), write.version, ex=TTL_SECONDS)
            await pipe.execute()

    def _key(self, write: Write) -> str:
        return self._keys.fence(write.entry_id, write.change.attribute)
