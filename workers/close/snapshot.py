"""The snapshot of a close preview: what was seen and priced, kept in Redis under a `close_id`
for `CLOSE_SNAPSHOT_TTL_DAYS`, so that `close commit` bills exactly that.

    <prefix>:close:snapshot:<close_id>     one JSON value, with a TTL

It holds the parameters (scope, period, rates file and currency, `--include-anomalies`), who made
it and when, each entry to close with its `resourceVersion`, its priced line and the rules'
pending changes for it (the commit writes them, before billing) — and for the report the
anomalies, the pending changes of the whole period and how many entries were left alone, why.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from service.contract.keys import Keys
from workers.close.lines import Line
from workers.close.scope import Selection
from workers.rules.engine import Change
from workers.rules.model import ATTRIBUTES


def new_close_id() -> str:
    """A fresh, unguessable close id (12 hex digits)."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Planned:
    """An entry to close: its line, the version it was seen in, the rules' changes for it."""

    line: Line
    version: int
    changes: tuple[Change, ...] = ()

    @property
    def entry_id(self) -> str:
        return self.line.entry_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line.to_dict(),
            "version": self.version,
            "changes": [change_dict(c) for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Planned:
        line = Line.from_dict(data["line"])
        changes = tuple(change_of(line.entry_id, c) for c in data.get("changes") or [])
        return cls(line, int(data["version"]), changes)


def change_dict(change: Change) -> dict[str, Any]:
    return {
        "rule": change.rule,
        "attribute": change.attribute,
        "old": change.old,
        "new": change.new,
    }


def change_of(entry_id: str, data: Mapping[str, Any]) -> Change:
    attribute = next(a for a in ATTRIBUTES if a == data["attribute"])
    return Change(entry_id, attribute, data.get("old"), data["new"], str(data["rule"]))


@dataclass
class Snapshot:
    """A preview, as kept for its commit (module docstring)."""

    close_id: str
    selection: Selection
    currency: str | None
    rates_file: str | None
    include_anomalies: bool
    at: str
    by: str
    planned: list[Planned] = field(default_factory=list)
    anomalies: list[dict[str, str]] = field(default_factory=list)
    """`{"id", "reason"}`, one per reason an entry has."""
    pending: list[dict[str, Any]] = field(default_factory=list)
    """The rules' pending changes in the period: `{"id", "rule", "attribute", "old", "new",
    "in_close"}` (`in_close`: the commit writes it)."""
    counts: dict[str, int] = field(default_factory=dict)
    """`read`, `in_period`, `close`, `held`, `billed`, `unbillable`, `pending_entries`."""

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "close_id": self.close_id,
                "selection": self.selection.to_dict(),
                "currency": self.currency,
                "rates_file": self.rates_file,
                "include_anomalies": self.include_anomalies,
                "at": self.at,
                "by": self.by,
                "planned": [p.to_dict() for p in self.planned],
                "anomalies": self.anomalies,
                "pending": self.pending,
                "counts": self.counts,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Snapshot:
        data = orjson.loads(raw)
        return cls(
            close_id=str(data["close_id"]),
            selection=Selection.from_dict(data["selection"]),
            currency=data.get("currency"),
            rates_file=data.get("rates_file"),
            include_anomalies=bool(data.get("include_anomalies")),
            at=str(data.get("at", "")),
            by=str(data.get("by", "")),
            planned=[Planned.from_dict(p) for p in data.get("planned") or []],
            anomalies=list(data.get("anomalies") or []),
            pending=list(data.get("pending") or []),
            counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
        )


class Snapshots:
    """The snapshots of one installation, each kept `ttl_days`."""

    def __init__(self, redis: Redis, keys: Keys, ttl_days: int) -> None:
        self._redis = redis
        self._keys = keys
        self.ttl_seconds = ttl_days * 86_400

    async def save(self, snapshot: Snapshot) -> None:
        key = self._keys.close_snapshot(snapshot.close_id)
        await self._redis.set(key, snapshot.to_json(), ex=self.ttl_seconds)

    async def load(self, close_id: str) -> Snapshot | None:
        raw = await self._redis.get(self._keys.close_snapshot(close_id))
        return None if raw is None else Snapshot.from_json(raw)
