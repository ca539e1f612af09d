"""What one process holds while it runs — the worker, or an operator's command — created once
(`ProcessContext.create`) and closed once (`aclose`).

    settings, redis, keys   the installation
    awork, webhooks         awork's API through one HTTP pool and the shared rate limiter
    queue                   the queue protocol (`service.contract.queue`)
    metrics                 the process's Prometheus registry

The billing rules and the records of what was done are built on it (`workers.apply.Billing`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Self

import httpx
from redis.asyncio import Redis

from service.contract.keys import Keys
from service.contract.queue import Queue
from service.contract.redis import connect
from service.contract.settings import Settings
from workers.awork.client import AworkClient
from workers.awork.limiter import Limiter, Rates
from workers.awork.transport import Transport, http_client
from workers.awork.webhooks import WebhookApi
from workers.telemetry import WorkerMetrics


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessContext:
    """The per-process singletons (module docstring)."""

    settings: Settings
    redis: Redis
    keys: Keys
    http: httpx.AsyncClient
    awork: AworkClient
    webhooks: WebhookApi
    queue: Queue
    metrics: WorkerMetrics
    owns_redis: bool = False
    """Whether `aclose` closes `redis` (not when the caller passed its own, e.g. arq's pool)."""

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        redis: Redis | None = None,
        redis_retries: int = 10,
        metrics: WorkerMetrics | None = None,
    ) -> Self:
        """The context for `settings`; connects lazily (nothing is sent until first use)."""
        owns = redis is None
        redis = redis if redis is not None else connect(settings.redis_url, retries=redis_retries)
        keys = Keys(settings.redis_prefix)
        metrics = metrics or WorkerMetrics()
        http = http_client(settings)
        rates = Rates(settings.awork_rate_per_second, settings.awork_rate_per_minute)
        limiter = Limiter(redis, keys, rates)
        transport = Transport(http, limiter, metrics, connections=settings.awork_max_connections)
        return cls(
            settings=settings,
            redis=redis,
            keys=keys,
            http=http,
            awork=AworkClient(transport, bulk_api=settings.awork_bulk_api),
            webhooks=WebhookApi(transport),
            queue=Queue.for_settings(redis, settings),
            metrics=metrics,
            owns_redis=owns,
        )

    async def aclose(self) -> None:
        """Close the HTTP pool (and Redis, when this context opened it)."""
        await self.http.aclose()
        if self.owns_redis:
            await self.redis.aclose()


@asynccontextmanager
async def process_context(
    settings: Settings, *, redis_retries: int = 10, metrics: WorkerMetrics | None = None
) -> AsyncIterator[ProcessContext]:
    """A `ProcessContext` of its own for `settings`, closed on exit."""
    context = ProcessContext.create(settings, redis_retries=redis_retries, metrics=metrics)
    try:
        yield context
    finally:
        await context.aclose()
