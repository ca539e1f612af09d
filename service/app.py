"""`uvicorn service.app:app`: the web app built from the environment on first use (SPEC 2).

`create_app(settings)` builds it for an explicit configuration (`service.web.app`).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from service.contract.settings import SettingsError, load_settings
from service.web.app import create_app

__all__ = ["app", "create_app"]


class _LazyApp:
    """Builds the app from the environment on first use, not at import."""

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
