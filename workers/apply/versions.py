"""Version floors: the newest `resourceVersion` read of each entry, so that a decision never
uses an older version than one already seen (awork's list can lag a webhook, SPEC 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis

from service.contract.keys import Keys
from workers.apply.batch import entry_version

TTL_SECONDS = 7 * 86_400


class VersionFloors:
    """`<prefix>:ver:<entry>` of one installation."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def read(self, entry_ids: Sequence[str]) -> dict[str, int]:
        """The floor of each of `entry_ids` that has one."""
        if not entry_ids:
            return {}
        values = await self._redis.mget([self._keys.version(i) for i in entry_ids])
        return {i: int(v) for i, v in zip(entry_ids, values, strict=True) if v is not None}

    async def remember(self, entries: Iterable[dict[str, Any]]) -> None:
        """Record the versions of `entries` as read."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                key = self._keys.version(str(entry["id"]))
                pipe.set(key, entry_version(entry), ex=TTL_SECONDS)
            await pipe.execute()
