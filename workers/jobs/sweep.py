"""The `sweep` cron job: the safety net under the coalescing queue.

- A claim whose flush job is gone (it failed for good, or arq dropped it) goes back into the
  queue (`Queue.give_back`): nothing claimed is ever lost.
- When entries are pending and no flush job exists for the current window (a web pod crashed
  between its write and the job, or a worker's clock ran ahead), a flush is scheduled.
- The periodic jobs that are due (reconciliation, webhook health) are started, once per interval
  across all workers.
- Redis' memory is read for the gauges.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from arq.connections import ArqRedis

from workers.jobs.lifecycle import process_of
from workers.process import ProcessContext

log = logging.getLogger(__name__)

RECONCILE_FUNCTION = "reconcile"
CHECK_WEBHOOK_FUNCTION = "check_webhook"


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """arq cron job: restore orphaned claims, make sure pending entries have a flush job, and
    start the periodic jobs that are due."""
    process = process_of(ctx)
    restored = await restore_orphans(process)
    scheduled = await process.queue.ensure_flush()
    started = await start_due_jobs(process, ctx["redis"])
    await observe_memory(process)
    return {"restored": restored, "scheduled": int(scheduled), "started": started}


async def observe_memory(process: ProcessContext) -> None:
    """Redis' memory for the gauges (and the alert at 80 % of maxmemory): a noeviction Redis
    that fills up refuses writes — webhooks get 503, the queue stops."""
    info = await process.redis.info("memory")
    process.metrics.redis_used_memory.set(int(info.get("used_memory", 0)))
    process.metrics.redis_max_memory.set(int(info.get("maxmemory", 0)))


async def start_due_jobs(process: ProcessContext, redis: ArqRedis) -> int:
    """Enqueue `reconcile` / `check_webhook` once per interval across all workers (SET NX)."""
    settings = process.settings
    webhook_interval = settings.webhook_check_interval_seconds if settings.awork_webhook_id else 0
    started = 0
    for name, interval in (
        (RECONCILE_FUNCTION, settings.reconcile_interval_seconds),
        (CHECK_WEBHOOK_FUNCTION, webhook_interval),
    ):
        due_key = process.keys.due(name)
        if interval and await process.redis.set(due_key, "1", nx=True, ex=interval):
            job_id = process.keys.job_id(name, str(int(time.time())))
            job = await redis.enqueue_job(name, _job_id=job_id, _queue_name=process.keys.queue)
            started += job is not None
    return started


async def restore_orphans(process: ProcessContext) -> int:
    """Give every orphaned claim back to the queue; how many entries went back."""
    restored = 0
    for claim in await process.queue.orphaned_claims():
        n = await process.queue.give_back(claim)
        if n:
            log.warning("restored %d entries of orphaned claim %s", n, claim)
        restored += n
    return restored
