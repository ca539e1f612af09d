"""The web app: `uvicorn service.app:app`, or `create_app(settings)` for an explicit configuration.

The lifespan owns the resources (Redis client, group committer, metrics) and hands them to the
routes through `request.state` / `scope["state"]`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from service import health
from service.ingest import Committer
from service.metrics import WebMetrics
from service.queue import Keys
from service.settings import Settings, SettingsError, load_settings, require
from service.store import connect, persistence_warnings
from service.webhooks import WebhookEndpoint

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    """The Starlette app for `settings` (WEBHOOK_TOKEN is required)."""
    require(settings, "webhook_token")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        redis = connect(settings.redis_url, retries=2)
        keys = Keys(settings.redis_prefix)
        committer = Committer.for_settings(redis, settings)
        for warning in await persistence_warnings(redis):
            log.warning(warning)
        await committer.start()
        # everything alive now lives as long as the process: keep the collector off it
        # (stack-notes 12: ~13 % of the hot path went to collections scanning these objects)
        gc.collect()
        gc.freeze()
        try:
            yield {"redis": redis, "keys": keys, "committer": committer, "metrics": WebMetrics()}
        finally:
            await committer.stop()
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


WEBHOOK_PATH = "/webhooks/awork"


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


class _LazyApp:
    """`service.app:app`: builds the app from the environment on first use, not at import."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            try:
                self._app = create_app(load_settings())
            except SettingsError as e:
                if scope["type"] == "lifespan":
                    await receive()
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                raise
        await self._app(scope, receive, send)


app = _LazyApp()
