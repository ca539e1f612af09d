"""`awork-billing webhook register|status|enable|list`: awork's webhook to this service.

awork delivers to one webhook configured in the workspace (api-notes 1.1): `POST /webhooks`
with the events as one comma-separated string and the one static header awork can send
(`authenticationType: header`, `authentication: "<WEBHOOK_TOKEN_HEADER>=<token>"`). It pauses a
webhook after ten failed deliveries in a row and drops events until someone re-enables it
(`PUT /webhooks/{id}` with `isActive: true`) — `status` shows that state, the last failure and
the newest deliveries; `enable` is the re-enabling. All of it needs an admin's API key.

`register` is idempotent: a webhook already pointing at the same URL is updated (events, token,
active) instead of duplicated — two webhooks would deliver every event twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

from service.contract.settings import Settings, load_settings
from service.contract.webhooks import EVENTS, WEBHOOK_PATH, header_auth, subscription
from workers.awork.errors import AworkRejected
from workers.awork.webhooks import WebhookApi, reenable_form
from workers.cli import argtypes
from workers.cli.operator import CliError, operator_context
from workers.cli.tables import cut, table


def register(args: argparse.Namespace) -> int:
    """`webhook register [--url URL]`: create (or update) the webhook; print its id."""
    settings = load_settings()
    uri = args.url or _default_url()
    form = subscription(settings, uri, name=args.name)
    config, created = asyncio.run(_register(settings, form))
    if args.json:
        print(json.dumps({**_public(config), "created": created}, indent=2))
        return 0
    verb = "created" if created else "updated (it already pointed at this URL)"
    print(f"webhook {config.get('id')} {verb}: {uri}, active, events {form['events']}")
    if config.get("id") != settings.awork_webhook_id:
        print(
            f"next: set AWORK_WEBHOOK_ID={config.get('id')} for the workers (they watch it "
            "for pauses) and for `awork-billing webhook status`"
        )
    return 0


def status(args: argparse.Namespace) -> int:
    """`webhook status [ID]`: active or paused, last failure, newest deliveries (exit 1: paused)."""
    settings = load_settings()
    webhook_id = _webhook_id(args.id, settings)
    config, logs = asyncio.run(_status(settings, webhook_id, args.deliveries))
    active = bool(config.get("isActive"))
    missing = [e for e in EVENTS if e not in _events(config)]
    if args.json:
        report = {
            **_public(config),
            "active": active,
            "missing_events": missing,
            "deliveries": logs,
        }
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(_status_lines(config, logs, missing)))
    if not active:
        raise CliError(
            f"webhook {webhook_id} is paused; `awork-billing webhook enable "
            f"{webhook_id}` re-enables it"
        )
    return 0


def enable(args: argparse.Namespace) -> int:
    """`webhook enable [ID]`: re-enable a paused webhook (`PUT` with `isActive: true`)."""
    settings = load_settings()
    webhook_id = _webhook_id(args.id, settings)
    changed = asyncio.run(_enable(settings, webhook_id))
    print(f"webhook {webhook_id} {'enabled' if changed else 'was already active'}")
    return 0


def list_webhooks(args: argparse.Namespace) -> int:
    """`webhook list`: every webhook of the workspace."""
    settings = load_settings()
    configs = asyncio.run(_list(settings))
    rows = [{**_public(c), "active": bool(c.get("isActive"))} for c in configs]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("\n".join(table(rows, ["id", "name", "active", "uri"], max_width=60)))
    return 0


async def _register(settings: Settings, form: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    async with operator_context(settings) as context:
        api = context.webhooks
        same = [c for c in await api.all() if c.get("uri") == form["uri"]]
        if same:
            return await api.update(str(same[0]["id"]), form), False
        return await api.create(form), True


async def _status(
    settings: Settings, webhook_id: str, count: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with operator_context(settings) as context:
        config = await _get(context.webhooks, webhook_id)
        return config, (await context.webhooks.logs(webhook_id, count) if count else [])


async def _enable(settings: Settings, webhook_id: str) -> bool:
    async with operator_context(settings) as context:
        config = await _get(context.webhooks, webhook_id)
        if config.get("isActive"):
            return False
        await context.webhooks.update(webhook_id, _form_of(config, settings))
        return True


async def _list(settings: Settings) -> list[dict[str, Any]]:
    async with operator_context(settings) as context:
        return await context.webhooks.all()


async def _get(api: WebhookApi, webhook_id: str) -> dict[str, Any]:
    try:
        return await api.get(webhook_id)
    except AworkRejected as e:
        if e.status == 404:
            raise CliError(f"awork has no webhook {webhook_id} (404)") from e
        raise


def _form_of(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The `WebhookConfigForm` that re-enables `config`, unchanged otherwise (PUT replaces all)."""
    tokens = settings.webhook_tokens()
    form = reenable_form(config, header_auth(settings) if tokens else None)
    if form is None:
        raise CliError(
            "awork did not return the webhook's header value: set WEBHOOK_TOKEN so "
            "it can be sent again",
            2,
        )
    return form


def _status_lines(
    config: dict[str, Any], logs: list[dict[str, Any]], missing: list[str]
) -> list[str]:
    state = "ACTIVE" if config.get("isActive") else "PAUSED"
    out = [
        f"webhook {config.get('id')} ({config.get('name')}): {state}",
        f"  url:          {config.get('uri')}",
        f"  events:       {config.get('events')}",
        f"  last failure: {config.get('lastFailureReason') or 'none'}",
        f"  updated:      {config.get('updatedOn') or '?'}",
    ]
    if missing:
        out.append(f"  missing events: {', '.join(missing)} (`webhook register` adds them)")
    failed = sum(1 for item in logs if not item.get("isSuccessful"))
    out += ["", f"Newest deliveries ({len(logs)}, {failed} failed):"]
    rows = [
        {
            "at": item.get("createdOn"),
            "code": item.get("responseCode"),
            "ok": bool(item.get("isSuccessful")),
            "message": cut(str(item.get("message")), 60),
            "reason": item.get("reason") or "",
        }
        for item in logs
    ]
    return out + (
        table(rows, ["at", "code", "ok", "message", "reason"], max_width=60)
        if rows
        else ["  (none)"]
    )


def _webhook_id(given: str | None, settings: Settings) -> str:
    if given:
        return given
    if not settings.awork_webhook_id:
        raise CliError("no webhook id: pass ID or set AWORK_WEBHOOK_ID", 2)
    try:
        return argtypes.guid(settings.awork_webhook_id)
    except argparse.ArgumentTypeError as e:
        raise CliError(f"AWORK_WEBHOOK_ID: {e}", 2) from None


def _default_url() -> str:
    base = os.environ.get("PUBLIC_URL", "").rstrip("/")
    if not base:
        raise CliError("--url is required (or set PUBLIC_URL to the service's public base URL)", 2)
    try:
        return argtypes.url(base + WEBHOOK_PATH)
    except argparse.ArgumentTypeError as e:
        raise CliError(f"PUBLIC_URL: {e}", 2) from None


def _events(config: dict[str, Any]) -> set[str]:
    return {e.strip() for e in str(config.get("events") or "").split(",") if e.strip()}


def _public(config: dict[str, Any]) -> dict[str, Any]:
    """A webhook configuration without its secret header value."""
    shown = dict(config)
    if shown.get("authentication"):
        name = str(shown["authentication"]).partition("=")[0]
        shown["authentication"] = f"{name}=***"
    return shown
