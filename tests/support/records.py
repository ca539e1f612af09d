"""What a test reads back from Redis: the audit log and the dead letters of one prefix."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from service.contract import Keys
from workers.apply import AuditLog, DeadLetters


async def audit_rows(redis: Redis, prefix: str, count: int = 100_000) -> list[dict[str, Any]]:
    """The newest `count` audit entries of installation `prefix`, newest first."""
    return await AuditLog(redis, Keys(prefix).audit).read(count=count)


async def dead_letters(redis: Redis, prefix: str) -> list[dict[str, object]]:
    """Every dead letter of installation `prefix`, oldest first."""
    return await DeadLetters(redis, Keys(prefix).dead).list_all()
