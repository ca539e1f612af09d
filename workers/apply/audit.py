"""The audit log: every write (or would-be write in dry run) as one entry of a capped Redis stream.

Fields: entry, rule, attribute, old, new, outcome (applied | dry_run | not_found | manual_kept),
at (ISO 8601 UTC), trigger (the event type and who caused it), job. Read back by
`awork-billing audit`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from service.contract.redis import text as reply_text


@dataclass(frozen=True)
class AuditEntry:
    entry: str
    rule: str
    attribute: str
    old: str
    new: str
    outcome: str
    trigger: str
    job: str
    at: str = ""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def text(value: object) -> str:
    """Audit values as text: JSON-ish literals for booleans and null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class AuditLog:
    """The stream `key`, trimmed to about `max_len` entries."""

    def __init__(self, redis: Redis, key: str, max_len: int = 100_000) -> None:
        self._redis = redis
        self._key = key
        self._max_len = max_len

    async def record(self, entries: Iterable[AuditEntry]) -> None:
        """Append `entries` (all stamped with the same time unless they carry their own)."""
        at = now_iso()
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                fields = asdict(entry)
                fields["at"] = entry.at or at
                pipe.xadd(self._key, fields, maxlen=self._max_len, approximate=True)  # type: ignore[arg-type]
            await pipe.execute()

    async def read(self, *, count: int = 100) -> list[dict[str, Any]]:
        """The newest `count` entries, newest first, as plain dicts (with the stream id)."""
        rows = await self._redis.xrevrange(self._key, count=count)
        out = []
        for stream_id, fields in rows:
            row = {reply_text(k): reply_text(v) for k, v in fields.items()}
            row["id"] = reply_text(stream_id)
            out.append(row)
        return out
