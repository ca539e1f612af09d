"""The webhook event model: what the service needs from awork's envelope, and nothing more.

awork's payloads vary (SPEC 7.1): be liberal in what is accepted and strict only about what is
needed — `eventType`, `entityId`, and for time entries `entity.id`. Everything else is optional
and read defensively (`triggeredBy` may be a whole user object, `changes` may be missing, nested ids
may not be GUIDs).

Two decoders, one answer. The typed one (msgspec) reads only the handful of fields below and
skips the rest of a 3.5 KB body without building it: a fraction of a full parse, on the one hot
path (stack-notes 12). Whatever it refuses — a field of an unusual type, a number beyond 64 bits,
malformed JSON — goes to the liberal one (orjson, a full parse), which decides exactly as before,
error messages included. The only difference: a number beyond a double's range in a field the
service does not read is skipped rather than refused (valid JSON; orjson's own limit).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import msgspec
import orjson

from service.contract.ids import is_guid
from service.contract.records import LOCKING_PROPERTIES
from service.contract.webhooks import ENTITY_EVENTS, TIME_ENTRY_EVENTS


class EventError(ValueError):
    """A webhook body the service cannot use; `detail` names the problem for the 400 answer."""

    def __init__(self, error: str, detail: object) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


class WebhookEvent(msgspec.Struct, frozen=True, gc=False):
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
        if not body.isascii():
            body.decode()  # JSON is UTF-8, and the typed decoder does not check what it skips
        envelope = _TYPED.decode(body)
    except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError):
        # unusual: the liberal decoder decides (and names the problem)
        return _parse_liberally(body)
    return _from_envelope(envelope)


# --- the typed decoder: only these fields are read; a mistyped one refuses the whole body ---


class _User(msgspec.Struct, gc=False):
    id: str | None = None


class _Change(msgspec.Struct, gc=False):
    property: str | None = None
    old: msgspec.Raw = msgspec.Raw(b"null")
    new: msgspec.Raw = msgspec.Raw(b"null")


_Version = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""int64 (what msgspec can bound): the liberal path reads larger numbers as orjson does (a float
beyond 64 bits, hence version 0)."""


class _Entity(msgspec.Struct, rename="camel", gc=False):
    id: str | None = None
    resource_version: _Version | None = None


class _Envelope(msgspec.Struct, rename="camel", gc=False):
    event_type: str | None = None
    entity_id: str | None = None
    timestamp: str | None = None
    entity: _Entity | None = None
    triggered_by: _User | None = None
    changes: list[_Change] | None = None


_TYPED = msgspec.json.Decoder(_Envelope)


def _from_envelope(data: _Envelope) -> WebhookEvent:
    event_type = _checked(data.event_type, "eventType")
    entity_id = _checked(data.entity_id, "entityId")
    entity = data.entity
    triggered_by = data.triggered_by.id if data.triggered_by is not None else None
    if event_type not in TIME_ENTRY_EVENTS:
        version = (entity.resource_version or 0) if entity is not None else 0
        return WebhookEvent(event_type, entity_id, data.timestamp, None, version, triggered_by)
    if entity is None:
        raise EventError("invalid envelope", "field 'entity' must be an object for time entries")
    entry_id = _checked(entity.id, "entity.id")
    if not is_guid(entry_id):
        raise EventError("invalid field", "field 'entity.id' must be a GUID")
    changed = _changed_names(data.changes) if data.changes else ()
    version = entity.resource_version or 0
    return WebhookEvent(
        event_type, entity_id, data.timestamp, entry_id, version, triggered_by, changed
    )


def _checked(value: str | None, name: str) -> str:
    if value is None:
        raise EventError("missing field", f"field '{name}' is required")
    if not value.strip():
        raise EventError("invalid field", f"field '{name}' must be a non-empty string")
    return value


def _changed_names(changes: list[_Change]) -> tuple[str, ...]:
    """The properties that can lock a billing attribute (`LOCKING_PROPERTIES`: the only ones the
    queue keeps) whose value changed (old ≠ new): distinct, sorted. The name is looked at
    first, so the values of the other properties an update lists are never compared; values are
    compared as awork wrote them (the same text is the same value: "False" and "False")."""
    names: set[str] = set()
    for change in changes:
        name = change.property
        if (
            name is not None
            and name.lower() in LOCKING_PROPERTIES
            and bytes(change.old).strip() != bytes(change.new).strip()
        ):
            names.add(name)
    return tuple(sorted(names)) if names else ()


# --- the liberal decoder: a full parse, every field read defensively ---


def _parse_liberally(body: bytes) -> WebhookEvent:
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
    triggered_by = _user_id(data.get("triggeredBy"))
    if event_type not in TIME_ENTRY_EVENTS:
        version = _version(entity.get("resourceVersion")) if isinstance(entity, dict) else 0
        return WebhookEvent(event_type, entity_id, timestamp, None, version, triggered_by)
    if not isinstance(entity, dict):
        raise EventError("invalid envelope", "field 'entity' must be an object for time entries")
    entry_id = _required_str(entity, "id", where="entity.id")
    if not is_guid(entry_id):
        raise EventError("invalid field", "field 'entity.id' must be a GUID")
    version = _version(entity.get("resourceVersion"))
    changed = _changed_properties(data.get("changes"))
    return WebhookEvent(event_type, entity_id, timestamp, entry_id, version, triggered_by, changed)


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
    """The locking properties whose value changed (old ≠ new), as `_changed_names` reads them."""
    if not isinstance(value, list):
        return ()
    names = {
        name
        for c in value
        if isinstance(c, dict)
        and isinstance(name := c.get("property"), str)
        and name.lower() in LOCKING_PROPERTIES
        and orjson.dumps(c.get("old")) != orjson.dumps(c.get("new"))
    }
    return tuple(sorted(names))
