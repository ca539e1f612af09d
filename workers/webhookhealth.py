"""The `check_webhook` job: is awork's webhook to this service active? (issue 3; stub)"""

from __future__ import annotations

from typing import Any


async def check_webhook(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: read `GET /webhooks/{AWORK_WEBHOOK_ID}`, export its state, re-enable if asked."""
    return {"active": 1}
