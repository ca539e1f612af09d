"""A worker's `Billing` without arq: what a job finds in its context, for tests that call a job
or a piece of one directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from service.contract.settings import Settings
from workers.apply import Billing
from workers.process import ProcessContext


@asynccontextmanager
async def billing_for(settings: Settings, redis: Redis) -> AsyncIterator[Billing]:
    """`Billing` on a process context for `settings`, as a worker builds it at start-up."""
    process = ProcessContext.create(settings, redis=redis)
    try:
        yield await Billing.start(process)
    finally:
        await process.aclose()


def job_ctx(billing: Billing, job_id: str, **extra: Any) -> dict[str, Any]:
    """An arq job's `ctx` for `billing` (what `workers.jobs.lifecycle.startup` puts there)."""
    process = billing.process
    return {
        "process": process,
        "billing": billing,
        "redis": process.redis,
        "job_id": job_id,
        **extra,
    }
