"""The `reconcile` job: converge the workspace even when webhooks are lost (issue 3; stub)."""

from __future__ import annotations

from typing import Any


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    """arq job: apply the rules to entries changed since the last checkpoint."""
    return {"entries": 0}
