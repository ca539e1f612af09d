from __future__ import annotations

import socket

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from service.sandbox import running


async def plain_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app without lifespan support."""
    if scope["type"] != "http":
        raise RuntimeError("lifespan unsupported")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": scope["path"].encode()})


async def test_any_asgi_app_runs_on_loopback() -> None:
    async with running(plain_app) as first, running(plain_app) as second:
        assert first.startswith("http://127.0.0.1:")
        assert first != second
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{first}/hello")).text == "/hello"
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(first)


async def test_a_busy_port_raises_here() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=r"(?i)in use"):
            async with running(plain_app, port=port):
                pass
