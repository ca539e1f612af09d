"""Version floors: the newest `resourceVersion` read of each entry, so that a decision never
uses an older version than one already seen (awork's list can lag a webhook, SPEC 6). A floor
only ever rises: a late, older read does not lower it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.scripts import NEWER_LUA
from workers.apply.batch import entry_version

TTL_SECONDS = 7 * 86_400

# KEYS: floor keys. ARGV: the TTL, then one version per key. Raises each floor to its version.
RAISE_LUA = (
    NEWER_LUA
    + """
for i, key in ipairs(KEYS) do
  local v = ARGV[i + 1]
  local cur = redis.call('GET', key)
  if not cur or newer(v, cur) then
    redis.call('SET', key, v, 'EX', tonumber(ARGV[1]))
  else
    redis.call('EXPIRE', key, tonumber(ARGV[1]))
  end
end
return 1
"""
)


class VersionFloors:
    """`<prefix>:ver:<entry>` of one installation."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._raise: Any = redis.register_script(RAISE_LUA)

    async def read(self, entry_ids: Sequence[str]) -> dict[str, int]:
        """The floor of each of `entry_ids` that has one."""
        if not entry_ids:
            return {}
        values = await self._redis.mget([self._keys.version(i) for i in entry_ids])
        return {i: int(v) for i, v in zip(entry_ids, values, strict=True) if v is not None}

    async def remember(self, entries: Iterable[dict[str, Any]]) -> None:
        """Raise the floors to the versions of `entries` as read."""
        pairs = [(self._keys.version(str(e["id"])), str(entry_version(e))) for e in entries]
        if pairs:
            keys, versions = zip(*pairs, strict=True)
            await self._raise(keys=list(keys), args=[TTL_SECONDS, *versions])
