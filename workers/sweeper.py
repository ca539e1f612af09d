"""The `sweep` cron job: the safety net under the coalescing queue.

- A claim whose flush job is gone (it failed for good, or arq dropped it) goes back into the
  queue (`workers.flush.give_back`): nothing claimed is ever lost.
- When entries are pending and no flush job exists for the current window (a web pod crashed
  between its write and the job, or a worker's clock ran ahead), a flush is scheduled.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis

from service.queue import FLUSH_FUNCTION, FlushSlot
from service.store import text
from workers.context import WorkerApp
from workers.flush import give_back

log = logging.getLogger(__name__)

RECONCILE_FUNCTION = "reconcile"
CHECK_WEBHOOK_FUNCTION = "check_webhook"


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """arq cron job: restore orphaned claims, make sure pending entries have a flush job, and
    start the periodic jobs that are due."""
    app: WorkerApp = ctx["app"]
    restored = await restore_orphans(app)
    scheduled = await ensure_flush(app, ctx["redis"])
    started = await start_due_jobs(app, ctx["redis"])
    return {"restored": restored, "scheduled": int(scheduled), "started": started}


async def start_due_jobs(app: WorkerApp, redis: ArqRedis) -> int:
    """Enqueue `reconcile` / `check_webhook` once per interval across all workers (SET NX)."""
    settings = app.settings
    webhook_interval = settings.webhook_check_interval_seconds if settings.awork_webhook_id else 0
    started = 0
    for name, interval in (
        (RECONCILE_FUNCTION, settings.reconcile_interval_seconds),
        (CHECK_WEBHOOK_FUNCTION, webhook_interval),
    ):
        due_key = app.keys.due(name)
        if interval and await app.redis.set(due_key, "1", nx=True, ex=interval):
            job_id = f"{app.keys.prefix}:{name}:{int(time.time())}"
            started += (
                await redis.enqueue_job(name, _job_id=job_id, _queue_name=app.keys.queue)
                is not None
            )
    return started


async def restore_orphans(app: WorkerApp) -> int:
    keys = app.keys
    restored = 0
    for raw in await app.redis.smembers(keys.claims):  # type: ignore[misc]
        claim = text(raw)
        job_id = claim.split(":claimed:", 1)[1]
        if await app.redis.exists(f"arq:job:{job_id}", f"arq:in-progress:{job_id}"):
            continue
        n = await give_back(app, claim)
        if n:
            log.warning("restored %d entries of orphaned claim %s", n, claim)
        restored += n
    return restored


async def ensure_flush(app: WorkerApp, redis: ArqRedis) -> bool:
    """Schedule a flush for the current window if entries wait and none is queued."""
    if not await app.redis.exists(app.keys.pending):
        return False
    slot = FlushSlot.for_time(app.keys, app.settings.coalesce_window_seconds)
    job = await redis.enqueue_job(
        FLUSH_FUNCTION,
        _job_id=slot.job_id,
        _queue_name=app.keys.queue,
        _defer_until=datetime.fromtimestamp(slot.run_at_ms / 1000, tz=UTC),
    )
    return job is not None
