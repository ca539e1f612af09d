"""The webhook event model: what the service needs from awork's envelope, and nothing more.

awork's payloads vary (SPEC 7.1): be liberal in what is accepted and strict only about what is
needed — `eventType`, `entityId`, and for time entries `entity.id`. Everything else is optional
and read defensively (`triggeredBy` may be a whole user object, `changes` may be missing, nested ids
may not be GUIDs).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from service.contract.ids import is_guid
from service.contract.webhooks import ENTITY_EVENTS, TIME_ENTRY_EVENTS


class EventError(ValueError):
    """A webhook body the service cannot use; `detail` names the problem for the 400 answer."""

    def __init__(self, error: str, detail: object) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One awork webhook delivery, reduced to what the queue needs."""

    event_type: str
    entity_id: str
    timestamp: str | None = None
    entry_id: str | None = None
    resource_version: int = 0
    triggered_by: str | None = None
    changed: tuple[str, ...] = ()

    @property
    def queue_key(self) -> str | None:
        """The pending-hash field of this event: the entry id, `<kind>:<id>` for a project,
        task or company change, None for events the service does not act on."""
        if self.entry_id is not None:
            return self.entry_id
        kind = ENTITY_EVENTS.get(self.event_type)
        if kind and is_guid(self.entity_id):
            return f"{kind}:{self.entity_id.lower()}"
        return None

    def dedup_key(self) -> str:
        """Identity of a delivery: awork sends no delivery id, so (entity, type, time, version)."""
        raw = f"{self.entity_id}|{self.event_type}|{self.timestamp}|{self.resource_version}"
        return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def parse_event(body: bytes) -> WebhookEvent:
    """Parse and check a webhook body; raise `EventError` naming what is missing or mistyped."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise EventError("malformed JSON", str(e)) from None
    if not isinstance(data, dict):
        raise EventError("invalid envelope", "the body must be a JSON object")
    event_type = _required_str(data, "eventType")
    entity_id = _required_str(data, "entityId")
    timestamp = data.get("timestamp")
    timestamp = timestamp if isinstance(timestamp, str) else None
    entity = data.get("entity")
    if event_type not in TIME_ENTRY_EVENTS:
        version = _version(entity.get("resourceVersion")) if isinstance(entity, dict) else 0
        return WebhookEvent(
            event_type=event_type,
            entity_id=entity_id,
            timestamp=timestamp,
            resource_version=version,
            triggered_by=_user_id(data.get("triggeredBy")),
        )
    if not isinstance(entity, dict):
        raise EventError("invalid envelope", "field 'entity' must be an object for time entries")
    entry_id = _required_str(entity, "id", where="entity.id")
    if not is_guid(entry_id):
        raise EventError("invalid field", "field 'entity.id' must be a GUID")
    return WebhookEvent(
        event_type=event_type,
        entity_id=entity_id,
        timestamp=timestamp,
        entry_id=entry_id,
        resource_version=_version(entity.get("resourceVersion")),
        triggered_by=_user_id(data.get("triggeredBy")),
        changed=_changed_properties(data.get("changes")),
    )


def _required_str(data: dict[str, Any], key: str, *, where: str | None = None) -> str:
    value = data.get(key)
    name = where or key
    if value is None:
        raise EventError("missing field", f"field '{name}' is required")
    if not isinstance(value, str) or not value.strip():
        raise EventError("invalid field", f"field '{name}' must be a non-empty string")
    return value


def _version(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _user_id(value: object) -> str | None:
    if isinstance(value, dict):
        user_id = value.get("id")
        return user_id if isinstance(user_id, str) else None
    return None


def _changed_properties(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = (c.get("property") for c in value if isinstance(c, dict))
    return tuple(sorted({n for n in names if isinstance(n, str)}))[:32]
