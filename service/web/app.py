"""The web app: `create_app(settings)` (`service.app:app` builds it from the environment).

The lifespan owns the resources (Redis client, queue, group committer, metrics) and hands them
to the routes through `request.state` / `scope["state"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from service.contract.queue import Queue
from service.contract.redis import connect
from service.contract.settings import Settings, require
from service.contract.webhooks import WEBHOOK_PATH
from service.web import health
from service.web.committer import Committer
from service.web.metrics import WebMetrics
from service.web.persistence import check_persistence
from service.web.receiver import WebhookEndpoint


def create_app(settings: Settings) -> Starlette:
    """The Starlette app for `settings` (WEBHOOK_TOKEN is required)."""
    require(settings, "webhook_token")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        redis = connect(settings.redis_url, retries=2)
        queue = Queue.for_settings(redis, settings)
        # the committer's calls, one at a time, on a connection of its own and without
        # redis-py's per-call layers (`DirectScript`)
        ingest = Queue.for_settings(redis, settings, own_connection=True)
        committer = Committer(ingest)
        # nothing here needs Redis: it may come up later (the check then warns when it does)
        check = await check_persistence(redis)
        await committer.start()
        # everything alive now lives as long as the process: keep the collector off it
        # (stack-notes 12: ~13 % of the hot path went to collections scanning these objects)
        gc.collect()
        gc.freeze()
        try:
            yield {"redis": redis, "queue": queue, "committer": committer, "metrics": WebMetrics()}
        finally:
            if check is not None:
                check.cancel()
                await asyncio.gather(check, return_exceptions=True)
            await committer.stop()
            await ingest.aclose()
            await redis.aclose()

    webhook = WebhookEndpoint(settings)
    routes = [
        Route(WEBHOOK_PATH, webhook, methods=["POST"]),
        Route("/livez", health.livez),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics),
        Route("/queue", health.queue),
    ]
    return App(webhook, routes=routes, lifespan=lifespan)


class App(Starlette):
    """Starlette, with the one hot route answered before Starlette's middleware and routing.

    Those cost about as much per request as the whole webhook endpoint (measured with py-spy
    under `make bench`; stack-notes 12). The endpoint handles every error itself; lifespan state
    reaches it through `scope["state"]`, set by the server. Everything else is plain Starlette.
    """

    def __init__(self, webhook: WebhookEndpoint, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self._webhook(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
