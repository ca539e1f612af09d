"""The contract both processes share — the web app and the workers meet only here.

    settings   `Settings`, read once from the environment (SPEC section 3)
    keys       `Keys`: every Redis key of one installation
    records    `PendingRecord` (what the queue keeps per entry), `IngestItem`
    queue      `Queue`: the pending -> claimed -> given-back protocol; arq's job format
    scripts    the queue's Lua scripts
    script     `DirectScript`: the ingest's Lua call on a connection of its own
    webhooks   the awork events acted on, the webhook path, the header auth
    ids        what an awork id (a GUID) looks like
    redis      Redis connections that survive short outages; persistence checks

It imports nothing else of the project.
"""

from service.contract.ids import GUID, is_guid
from service.contract.keys import Keys
from service.contract.queue import (
    FLUSH_FUNCTION,
    FlushSlot,
    Queue,
    QueueStats,
    deserialize,
    serialize,
)
from service.contract.records import IngestItem, PendingRecord
from service.contract.redis import connect, persistence_warnings, purge_prefix, text
from service.contract.settings import Settings, SettingsError, load_settings, require
from service.contract.webhooks import (
    ENTITY_EVENTS,
    EVENTS,
    TIME_ENTRY_EVENTS,
    WEBHOOK_PATH,
    header_auth,
    subscription,
)

__all__ = [
    "ENTITY_EVENTS",
    "EVENTS",
    "FLUSH_FUNCTION",
    "GUID",
    "TIME_ENTRY_EVENTS",
    "WEBHOOK_PATH",
    "FlushSlot",
    "IngestItem",
    "Keys",
    "PendingRecord",
    "Queue",
    "QueueStats",
    "Settings",
    "SettingsError",
    "connect",
    "deserialize",
    "header_auth",
    "is_guid",
    "load_settings",
    "persistence_warnings",
    "purge_prefix",
    "require",
    "serialize",
    "subscription",
    "text",
]
