"""Webhook facts: which awork events the service acts on, where they arrive, how they
authenticate — for the receiver, for `webhook register` and for the demo, one list.

awork sends one static header the workspace admin configures (`authenticationType: header`,
`authentication: "Name=Value"`, SPEC 7.1); the service checks it against `WEBHOOK_TOKEN` under
the name `WEBHOOK_TOKEN_HEADER`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from service.contract.settings import Settings, SettingsError

WEBHOOK_PATH = "/webhooks/awork"
"""Where awork delivers (`POST`)."""

TIME_ENTRY_EVENTS: tuple[str, ...] = (
    "timetracking_added",
    "timetracking_updated",
    "timetracking_deleted",
    "timetracking_type_changed",
)
"""Time-entry events: queued for the rules."""

ENTITY_EVENTS: Mapping[str, str] = MappingProxyType(
    {
        "project_updated": "project",
        "project_type_changed": "project",
        "project_status_changed": "project",
        "task_updated": "task",
        "task_type_changed": "task",
        "company_updated": "company",
        "company_type_changed": "company",
    }
)
"""Changes of what rules may read beyond the entry (event -> kind): queued to refresh the
cached project, task or company and re-evaluate its entries."""

EVENTS: tuple[str, ...] = (*TIME_ENTRY_EVENTS, *ENTITY_EVENTS)
"""Every event the receiver acts on; `webhook register` subscribes to exactly these."""


def header_auth(settings: Settings) -> str:
    """`<WEBHOOK_TOKEN_HEADER>=<token>`: the header awork must send (the first of several
    tokens, so that a rotation can add the new one first)."""
    tokens = settings.webhook_tokens()
    if not tokens:
        raise SettingsError("missing setting WEBHOOK_TOKEN: awork must send it with every event")
    return f"{settings.webhook_token_header}={tokens[0]}"


def subscription(settings: Settings, uri: str, *, name: str) -> dict[str, Any]:
    """The `WebhookConfigForm` of this service's webhook: active, every event in `EVENTS`,
    header auth (`POST /webhooks`, `PUT /webhooks/{id}`)."""
    return {
        "name": name,
        "uri": uri,
        "events": ",".join(EVENTS),
        "isActive": True,
        "authenticationType": "header",
        "authentication": header_auth(settings),
    }
