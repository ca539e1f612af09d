"""Dead letters: changes the service could not apply, kept with their reason for an operator.

A hash `<prefix>:dead` maps an id to a JSON record: the entry, the attribute and value that were
wanted, the rule, the reason (`unauthorized`, `bad_request`, `rejected`, `retries_exhausted`,
`stale`, `rule_error`, `failed`), the last awork error with its HTTP status and `Trace-Id`,
when, and when the entry was first queued.
Replaying puts the entries back into the queue: they are evaluated afresh against their current
state. Everything that dead-letters goes through `workers.apply.recorder.Recorder`, which also
counts and logs it.
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
    first_seen_ms: int = 0
    """When the queue first held the entry (kept through a replay)."""
    at: float = 0.0

    @property
    def id(self) -> str:
        raw = f"{self.entry_id}|{self.attribute}|{self.value}|{self.reason}"
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


class DeadLetters:
    """The dead-letter hash `key`."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key

    async def add(self, letters: Iterable[DeadLetter]) -> int:
        """Store `letters` (the same entry, attribute, value and reason overwrite: newest wins)."""
        now = time.time()
        mapping = {
            d.id: orjson.dumps({**asdict(d), "at": d.at or now, "id": d.id}) for d in letters
        }
        if mapping:
            await self._redis.hset(self._key, mapping=mapping)  # type: ignore[misc]
        return len(mapping)

    async def list_all(self) -> list[dict[str, object]]:
        """Every dead letter, oldest first."""
        raw = await self._redis.hgetall(self._key)  # type: ignore[misc]
        letters = [orjson.loads(v) for v in raw.values()]
        return sorted(letters, key=lambda d: (d.get("at", 0), d.get("id", "")))

    async def take(self, ids: list[str] | None) -> list[dict[str, object]]:
        """Remove and return the dead letters `ids` (all when None); unknown ids are ignored."""
        letters = await self.list_all()
        chosen = [d for d in letters if ids is None or d["id"] in ids]
        if chosen:
            await self._redis.hdel(self._key, *[str(d["id"]) for d in chosen])  # type: ignore[misc]
        return chosen
