"""The audit log: every write (or would-be write in dry run) as one entry of a capped Redis stream.

Fields: entry, rule, attribute, old, new, outcome (applied | dry_run | not_found), at (ISO 8601
UTC), trigger (the event type and who caused it), job. Read back by `awork-billing audit`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from service.store import text as reply_text


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


async def record(redis: Redis, key: str, entries: Iterable[AuditEntry], max_len: int) -> None:
    """Append `entries` to the stream `key`, trimming it to about `max_len`."""
    at = now_iso()
    async with redis.pipeline(transaction=False) as pipe:
        for entry in entries:
            fields = asdict(entry)
            fields["at"] = entry.at or at
            pipe.xadd(key, fields, maxlen=max_len, approximate=True)  # type: ignore[arg-type]
        await pipe.execute()


async def read(redis: Redis, key: str, *, count: int = 100) -> list[dict[str, Any]]:
    """The newest `count` audit entries, newest first, as plain dicts (with the stream id)."""
    rows = await redis.xrevrange(key, count=count)
    out = []
    for stream_id, fields in rows:
        row = {reply_text(k): reply_text(v) for k, v in fields.items()}
        row["id"] = reply_text(stream_id)
        out.append(row)
    return out
