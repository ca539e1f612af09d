"""Version floors only rise: a late read of an older version never lowers what was seen."""

from __future__ import annotations

from redis.asyncio import Redis

from service.contract import Keys
from workers.apply import VersionFloors

ENTRY = "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10"
NEWER, OLDER = 639_000_000_000_000_002, 639_000_000_000_000_001  # int64 ticks: beyond a double


async def test_a_floor_only_rises(redis: Redis, prefix: str) -> None:
    floors = VersionFloors(redis, Keys(prefix))
    await floors.remember([{"id": ENTRY, "resourceVersion": NEWER}])
    await floors.remember([{"id": ENTRY, "resourceVersion": OLDER}])
    assert await floors.read([ENTRY]) == {ENTRY: NEWER}
    await floors.remember([{"id": ENTRY, "resourceVersion": NEWER + 10}])
    assert await floors.read([ENTRY]) == {ENTRY: NEWER + 10}
