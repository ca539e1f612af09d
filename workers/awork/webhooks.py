"""awork's webhook configuration (`/webhooks`, admin only): read, create, replace, delivery logs.

Used by `awork-billing webhook …` and by the workers' webhook health check.
"""

from __future__ import annotations

from typing import Any

from workers.awork.transport import Transport

FORM_FIELDS = (
    "name",
    "uri",
    "events",
    "authenticationType",
    "authentication",
    "language",
    "onlyTriggerForMainEntityChanges",
)
"""The `WebhookConfigForm` fields a `WebhookConfig` carries (the rest is read-only)."""


class WebhookApi:
    """The webhook admin endpoints, through the shared transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def all(self) -> list[dict[str, Any]]:
        """Every webhook configuration of the workspace (`GET /webhooks`)."""
        found: list[dict[str, Any]] = []
        async for page in self._transport.pages("/webhooks", {}, operation="webhooks"):
            found += page
        return found

    async def get(self, webhook_id: str) -> dict[str, Any]:
        """One webhook configuration (`GET /webhooks/{id}`; `AworkRejected` 404 when gone)."""
        data = await self._transport.json("GET", f"/webhooks/{webhook_id}", operation="webhook")
        return data if isinstance(data, dict) else {}

    async def create(self, form: dict[str, Any]) -> dict[str, Any]:
        """Create a webhook from a `WebhookConfigForm` (`POST /webhooks`); its configuration."""
        data = await self._transport.json(
            "POST", "/webhooks", json=form, operation="webhook_create"
        )
        return data if isinstance(data, dict) else {}

    async def update(self, webhook_id: str, form: dict[str, Any]) -> dict[str, Any]:
        """Replace a webhook's configuration (`PUT /webhooks/{id}`: the whole form)."""
        path = f"/webhooks/{webhook_id}"
        data = await self._transport.json("PUT", path, json=form, operation="webhook_update")
        return data if isinstance(data, dict) else {}

    async def logs(self, webhook_id: str, count: int = 20) -> list[dict[str, Any]]:
        """The newest `count` delivery log items of a webhook (`GET /webhooks/{id}/logs`)."""
        params = {"orderby": "createdOn desc", "page": "1", "pageSize": str(count)}
        path = f"/webhooks/{webhook_id}/logs"
        data = await self._transport.json("GET", path, params=params, operation="webhook_logs")
        items = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        return sorted(items, key=lambda item: str(item.get("createdOn") or ""), reverse=True)


def reenable_form(config: dict[str, Any], own_header: str | None = None) -> dict[str, Any] | None:
    """The `WebhookConfigForm` that re-enables `config` unchanged. A header-auth webhook that came
    back without its header value gets `own_header` ("Name=token" from this service's settings);
    None when there is none (re-enabling would strip the token and every delivery would be 401)."""
    form = {k: config[k] for k in FORM_FIELDS if config.get(k) is not None}
    if form.get("authenticationType") == "header" and not form.get("authentication"):
        if own_header is None:
            return None
        form["authentication"] = own_header
    return {**form, "isActive": True}
