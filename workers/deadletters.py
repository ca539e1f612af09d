"""Dead letters: changes the service could not apply, kept with their reason for an operator.

A hash `<prefix>:dead` maps an id to a JSON record: the entry, the attribute and value that were
wanted, the rule, the reason (`unauthorized`, `bad_request`, `rejected`, `retries_exhausted`,
`stale`, `invalid`), the last awork error with its HTTP status and `Trace-Id`, and when. Replaying
puts the entries back into the queue: they are evaluated afresh against their current state.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import orjson
from redis.asyncio import Redis


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    reason: str
    error: str = ""
    attribute: str = ""
    value: str = ""
    rule: str = ""
    status: int = 0
    trace_id: str = ""
    at: float = 0.0

    @property
    def id(self) -> str:
        raw = f"{self.entry_id}|{self.attribute}|{self.value}|{self.reason}"
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


async def add(redis: Redis, key: str, letters: Iterable[DeadLetter]) -> int:
    """Store `letters` (the same entry, attribute, value and reason overwrite: newest wins)."""
    now = time.time()
    mapping = {d.id: orjson.dumps({**asdict(d), "at": d.at or now, "id": d.id}) for d in letters}
    if mapping:
        await redis.hset(key, mapping=mapping)  # type: ignore[misc]
    return len(mapping)


async def list_all(redis: Redis, key: str) -> list[dict[str, object]]:
    """Every dead letter, oldest first."""
    raw = await redis.hgetall(key)  # type: ignore[misc]
    letters = [orjson.loads(v) for v in raw.values()]
    return sorted(letters, key=lambda d: (d.get("at", 0), d.get("id", "")))


async def take(redis: Redis, key: str, ids: list[str] | None) -> list[dict[str, object]]:
    """Remove and return the dead letters `ids` (all when None); unknown ids are ignored."""
    letters = await list_all(redis, key)
    chosen = [d for d in letters if ids is None or d["id"] in ids]
    if chosen:
        await redis.hdel(key, *[str(d["id"]) for d in chosen])  # type: ignore[misc]
    return chosen
