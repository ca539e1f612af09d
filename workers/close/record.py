"""The close record: a business record of what a close billed, kept without a TTL.

    <prefix>:close:record:<REF>   the record (JSON): period, scope, currency, who and when, every
                                  entry billed (its line, version after billing, state then),
                                  the entries left out and why, the files written
    <prefix>:close:index          hash REF -> a small summary of the record (`close list`)
    <prefix>:close:claim:<id>     the REF a snapshot is committed as (one REF per snapshot)
    <prefix>:close:lock:<REF>     a lease held while a commit or reopen of REF runs

A record starts `committing` (the snapshot's entries copied in, so the commit does not depend
on the snapshot's TTL), becomes `committed` once everything is written, and `reopened` when its
entries are un-billed again. A REF is used once (`create` is SET NX).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.redis import text
from workers.close.errors import CloseBusy
from workers.close.lines import Line
from workers.close.scope import Selection
from workers.close.snapshot import Planned
from workers.close.totals import totals

Status = Literal["committing", "committed", "reopened"]
LEASE_SECONDS = 60
"""A crashed commit's lease ends after this; a running one renews it every third of it."""


@dataclass(frozen=True)
class Billed:
    """An entry the close billed: its line, its version after billing and its state then."""

    line: Line
    version: int
    state: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.line.to_dict(), "version": self.version, "state": self.state}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Billed:
        return cls(Line.from_dict(data), int(data["version"]), dict(data.get("state") or {}))


@dataclass
class CloseRecord:
    reference: str
    close_id: str
    selection: Selection
    currency: str | None
    by: str
    started_at: str
    status: Status = "committing"
    planned: list[Planned] = field(default_factory=list)
    """The snapshot's entries, until the commit is done."""
    selected: list[str] | None = None
    """The planned entries still as previewed (None: not checked yet)."""
    excluded: list[dict[str, str]] = field(default_factory=list)
    entries: list[Billed] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    committed_at: str | None = None
    reopened_at: str | None = None
    reopened_by: str | None = None

    def totals(self, *, by_user: bool = False) -> dict[str, Any]:
        return totals([e.line for e in self.entries], self.currency, by_user=by_user)

    def summary(self) -> dict[str, Any]:
        """What `close list` shows of the record."""
        whole = self.totals()
        return {
            "reference": self.reference,
            "close_id": self.close_id,
            "period": self.selection.period.to_dict(),
            "scope": self.selection.scope.describe(),
            "status": self.status,
            "entries": whole["entries"],
            "amount": whole["amount"],
            "currency": self.currency,
            "committed_at": self.committed_at,
            "by": self.by,
        }

    def document(self) -> dict[str, Any]:
        """The record as `REF.json` holds it."""
        return {
            "reference": self.reference,
            "close_id": self.close_id,
            "period": self.selection.period.to_dict(),
            "scope": self.selection.scope.to_dict(),
            "currency": self.currency,
            "committed_at": self.committed_at,
            "by": self.by,
            "entries": [{**e.line.to_dict(), "version": e.version} for e in self.entries],
            "excluded": self.excluded,
            "totals": self.totals(),
        }

    def to_json(self) -> bytes:
        data = {
            **{k: getattr(self, k) for k in _PLAIN},
            "selection": self.selection.to_dict(),
            "planned": [p.to_dict() for p in self.planned],
            "entries": [e.to_dict() for e in self.entries],
        }
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloseRecord:
        data = orjson.loads(raw)
        return cls(
            **{k: data.get(k) for k in _PLAIN},
            selection=Selection.from_dict(data["selection"]),
            planned=[Planned.from_dict(p) for p in data.get("planned") or []],
            entries=[Billed.from_dict(e) for e in data.get("entries") or []],
        )


_PLAIN = (
    "reference",
    "close_id",
    "currency",
    "by",
    "started_at",
    "status",
    "selected",
    "excluded",
    "files",
    "committed_at",
    "reopened_at",
    "reopened_by",
)


class Records:
    """The close records of one installation (module docstring)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def load(self, reference: str) -> CloseRecord | None:
        raw = await self._redis.get(self._keys.close_record(reference))
        return None if raw is None else CloseRecord.from_json(raw)

    async def create(self, record: CloseRecord) -> bool:
        """Store a new record; False when its reference is taken."""
        key = self._keys.close_record(record.reference)
        return bool(await self._redis.set(key, record.to_json(), nx=True))

    async def save(self, record: CloseRecord) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.close_record(record.reference), record.to_json())
            summary = orjson.dumps(record.summary()).decode()
            pipe.hset(self._keys.close_index, record.reference, summary)
            await pipe.execute()

    async def summaries(self) -> list[dict[str, Any]]:
        """Every record's summary, oldest first."""
        raw = await self._redis.hgetall(self._keys.close_index)  # type: ignore[misc]
        found = [orjson.loads(v) for v in raw.values()]
        return sorted(found, key=lambda s: (s.get("committed_at") or "~", s["reference"]))

    async def claim(self, close_id: str, reference: str, ttl_seconds: int) -> str:
        """Claim the snapshot `close_id` for `reference`; the reference that holds it."""
        key = self._keys.close_claim(close_id)
        await self._redis.set(key, reference, nx=True, ex=ttl_seconds)
        return text(await self._redis.get(key) or reference)

    @contextlib.asynccontextmanager
    async def lease(self, reference: str) -> AsyncIterator[None]:
        """Hold the lease of `reference` while the block runs (`CloseBusy` when another has it)."""
        key, token = self._keys.close_lock(reference), secrets.token_hex(8)
        if not await self._redis.set(key, token, nx=True, ex=LEASE_SECONDS):
            message = (
                f"another commit or reopen of {reference} is running (or one crashed less "
                f"than {LEASE_SECONDS} s ago); try again shortly"
            )
            raise CloseBusy(message, reference=reference)
        renewal = asyncio.create_task(self._renew(key))
        try:
            yield
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
            if text(await self._redis.get(key) or "") == token:
                await self._redis.delete(key)

    async def _renew(self, key: str) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            await self._redis.expire(key, LEASE_SECONDS)
