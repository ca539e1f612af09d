"""`respect_manual_changes: true`: attributes a person set by hand are theirs to keep.

The web app records who changed which property (`changes[]` of awork's webhook, as
`<user id>|<Property>`). When someone other than the service's own API user changed
`IsBillable`, `IsBilled` or `TypeOfWorkId`, that attribute of that entry is locked for the rules
(a Redis set `<prefix>:manual:<entry id>`, kept for a year); the audit log shows each change the
lock prevented with outcome `manual_kept`.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.queue import PendingRecord
from service.store import text
from workers.context import WorkerApp
from workers.rules import Attribute
from workers.ruleset import ATTRIBUTES

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


async def locks(
    app: WorkerApp, records: Sequence[tuple[str, PendingRecord]]
) -> dict[str, frozenset[Attribute]]:
    """Record new manual changes and return the locked attributes of each entry."""
    if not app.rules.respect_manual_changes or not records:
        return {}
    async with app.redis.pipeline(transaction=False) as pipe:
        for entry_id, record in records:
            touched = by_people(record, app.me)
            if touched:
                pipe.sadd(app.keys.manual(entry_id), *sorted(touched))
                pipe.expire(app.keys.manual(entry_id), KEEP_SECONDS)
        for entry_id, _ in records:
            pipe.smembers(app.keys.manual(entry_id))
        results = await pipe.execute()
    members = results[-len(records) :]
    locked: dict[str, frozenset[Attribute]] = {}
    for (entry_id, _), found in zip(records, members, strict=True):
        attributes = frozenset(a for a in map(_attribute, found) if a is not None)
        if attributes:
            locked[entry_id] = attributes
    return locked


def _attribute(member: bytes | str) -> Attribute | None:
    name = text(member)
    return next((a for a in ATTRIBUTES if a == name), None)
