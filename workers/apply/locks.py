"""`respect_manual_changes: true`: attributes a person set by hand are theirs to keep.

The web app records who changed which property (`changes[]` of awork's webhook, as
`<user id>|<Property>`). When someone other than the service's own API user changed
`IsBillable`, `IsBilled` or `TypeOfWorkId`, that attribute of that entry is locked for the rules
(a Redis set `<prefix>:manual:<entry id>`, kept for a year); the audit log shows each change the
lock prevented with outcome `manual_kept`.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.records import PendingRecord
from service.contract.redis import text
from workers.apply.batch import Pending
from workers.rules.model import ATTRIBUTES, Attribute

PROPERTIES: dict[str, Attribute] = {
    "isbillable": "billable",
    "isbilled": "billed",
    "typeofworkid": "type_of_work",
    "typeofwork": "type_of_work",
}
KEEP_SECONDS = 365 * 86_400


def by_people(record: PendingRecord, me: str) -> set[Attribute]:
    """Billing attributes someone other than `me` changed in the merged events of `record`."""
    found: set[Attribute] = set()
    for item in record.changed:
        author, _, prop = item.rpartition("|")
        attribute = PROPERTIES.get(prop.lower())
        if attribute and author != me:
            found.add(attribute)
    return found


class ManualLocks:
    """The attributes people locked, per entry."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def record_and_read(
        self, items: Sequence[Pending], me: str
    ) -> dict[str, frozenset[Attribute]]:
        """Record the manual changes `items` bring and return the locked attributes of each."""
        if not items:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in items:
                touched = by_people(item.record, me)
                if touched:
                    pipe.sadd(self._keys.manual(item.entry_id), *sorted(touched))
                    pipe.expire(self._keys.manual(item.entry_id), KEEP_SECONDS)
            for item in items:
                pipe.smembers(self._keys.manual(item.entry_id))
            results = await pipe.execute()
        members = results[-len(items) :]
        locked: dict[str, frozenset[Attribute]] = {}
        for item, found in zip(items, members, strict=True):
            attributes = frozenset(a for a in map(_attribute, found) if a is not None)
            if attributes:
                locked[item.entry_id] = attributes
        return locked

    async def all(self) -> dict[str, list[Attribute]]:
        """Every entry with locked attributes (for `awork-billing manual list`)."""
        found: dict[str, list[Attribute]] = {}
        async for key in self._redis.scan_iter(match=self._keys.manual_pattern, count=1000):
            entry_id = text(key).rsplit(":", 1)[1]
            members = await self._redis.smembers(key)  # type: ignore[misc]
            attributes = sorted(a for a in map(_attribute, members) if a is not None)
            if attributes:
                found[entry_id] = attributes
        return dict(sorted(found.items()))

    async def clear(self, entry_ids: Sequence[str]) -> int:
        """Lift every lock of `entry_ids`; how many entries had one."""
        if not entry_ids:
            return 0
        return int(await self._redis.delete(*(self._keys.manual(i) for i in entry_ids)))


def _attribute(member: bytes | str) -> Attribute | None:
    name = text(member)
    return next((a for a in ATTRIBUTES if a == name), None)
