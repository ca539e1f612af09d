"""Write fences: each change is written once per version of an entry, whoever computes it.

Two writers can decide the same change from the same read: two flushes whose windows both held
an entry, or the reconciliation sweep and a flush. Writes are idempotent, so the end state is
right either way, but the second call is wasted and the audit log would show the change twice.
After a write, `<prefix>:fence:<entry>:<attribute>` holds the version the decision was based on;
a writer whose read is not newer skips that change (counted as `already_written`). A person
changing the entry later makes a newer version, so the rules apply again as they should.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workers.context import WorkerApp
from workers.rules import Change

TTL_SECONDS = 86_400


def _key(app: WorkerApp, change: Change) -> str:
    return app.keys.fence(change.entry_id, change.attribute)


async def unwritten(
    app: WorkerApp, changes: Sequence[Change], versions: Mapping[str, int]
) -> list[Change]:
    """The changes no writer has made yet for (at least) the version they were decided on."""
    fences = await app.redis.mget([_key(app, c) for c in changes])
    return [
        c
        for c, fence in zip(changes, fences, strict=True)
        if fence is None or int(fence) < versions.get(c.entry_id, 0)
    ]


async def mark(app: WorkerApp, changes: Sequence[Change], versions: Mapping[str, int]) -> None:
    """Record that `changes` were written for the versions they were decided on."""
    if not changes:
        return
    async with app.redis.pipeline(transaction=False) as pipe:
        for change in changes:
            pipe.set(_key(app, change), versions.get(change.entry_id, 0), ex=TTL_SECONDS)
        await pipe.execute()
