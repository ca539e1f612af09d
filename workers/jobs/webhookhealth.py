"""The `check_webhook` job: is awork's webhook to this service still active?

awork pauses a webhook after more than 10 failed deliveries in a row and sends nothing more until
someone re-enables it (api-notes 1.5) — silently, from this service's point of view. Every
`WEBHOOK_CHECK_INTERVAL_SECONDS` (when `AWORK_WEBHOOK_ID` is set) the sweep cron starts this job:

- `GET /webhooks/{AWORK_WEBHOOK_ID}`; `awork_billing_webhook_active` is 1 when active, else 0
  (also when the webhook is gone: 404);
- paused: an ERROR log line with awork's `lastFailureReason`; with `AWORK_WEBHOOK_AUTO_REENABLE`
  the webhook is re-enabled with `PUT /webhooks/{id}` (the same configuration, `isActive: true`).

Events awork dropped while the webhook was paused are not redelivered: the reconciliation sweep
(`workers.jobs.reconcile`) reads them from its checkpoint. Managing webhooks needs admin rights; a
401 is logged as an error and the gauge is left as it was (the state is unknown).
"""

from __future__ import annotations

import logging
from typing import Any

from service.contract.webhooks import header_auth
from workers.awork.errors import AworkError, AworkRejected
from workers.awork.webhooks import reenable_form
from workers.jobs.lifecycle import process_of
from workers.process import ProcessContext

log = logging.getLogger(__name__)


async def check_webhook(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: read `GET /webhooks/{AWORK_WEBHOOK_ID}`, export its state, re-enable if asked."""
    app = process_of(ctx)
    hook_id = app.settings.awork_webhook_id
    if not hook_id:
        return {"checked": 0}
    try:
        config = await app.webhooks.get(hook_id)
    except AworkRejected as e:
        return _unreadable(app, hook_id, e)
    except AworkError as e:  # transient: the next check tries again
        log.warning("webhook %s: cannot check it now: %s", hook_id, e)
        return {"checked": 0}
    if config.get("isActive") is True:
        app.metrics.webhook_active.set(1)
        return {"checked": 1, "active": 1}
    app.metrics.webhook_active.set(0)
    log.error(
        "awork paused webhook %s (%s): %s; events are not delivered until it is re-enabled%s",
        hook_id,
        config.get("uri"),
        config.get("lastFailureReason") or "no reason given",
        "" if app.settings.awork_webhook_auto_reenable else " (AWORK_WEBHOOK_AUTO_REENABLE=false)",
    )
    if not app.settings.awork_webhook_auto_reenable:
        return {"checked": 1, "active": 0}
    return {"checked": 1, "active": 0, "reenabled": await _reenable(app, hook_id, config)}


async def _reenable(app: ProcessContext, hook_id: str, config: dict[str, Any]) -> int:
    form = reenable_form(config, _own_header(app))
    if form is None:
        log.error(
            "webhook %s: cannot re-enable it: its header value is unknown (awork did not "
            "return it and WEBHOOK_TOKEN is not set here)",
            hook_id,
        )
        return 0
    try:
        updated = await app.webhooks.update(hook_id, form)
    except AworkError as e:
        log.error("webhook %s: re-enabling failed: %s (trace_id=%s)", hook_id, e, e.trace_id)
        return 0
    active = updated.get("isActive") is True
    app.metrics.webhook_active.set(1 if active else 0)
    log.warning("webhook %s re-enabled (AWORK_WEBHOOK_AUTO_REENABLE)", hook_id)
    return int(active)


def _own_header(app: ProcessContext) -> str | None:
    return header_auth(app.settings) if app.settings.webhook_tokens() else None


def _unreadable(app: ProcessContext, hook_id: str, error: AworkRejected) -> dict[str, int]:
    if error.status == 404:
        app.metrics.webhook_active.set(0)
        log.error("awork webhook %s does not exist (AWORK_WEBHOOK_ID): no events arrive", hook_id)
    else:
        log.error("webhook %s: cannot read it: %s (needs admin rights)", hook_id, error)
    return {"checked": 0}
