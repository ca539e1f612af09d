"""`running(app)`: serve any ASGI app with uvicorn on loopback, inside the current event loop.

    async with running(create_sandbox(ws)) as base_url:   # "http://127.0.0.1:<port>"
        ...

For tests and the demo: real HTTP on a real socket, no thread, no subprocess. The socket is
bound before uvicorn starts, so a busy port raises `OSError` here instead of uvicorn calling
`sys.exit` inside a task (which would stop the whole event loop). Signal handling is left to the
caller: uvicorn's own would swallow Ctrl+C for every embedded server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator

import uvicorn
from starlette.types import ASGIApp


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def running(
    app: ASGIApp, port: int = 0, *, host: str = "127.0.0.1", shutdown_timeout: int = 5
) -> AsyncIterator[str]:
    """Run `app` (lifespan included) until the block exits; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets it knows are TCP;
    # without it every answer waited ~40 ms for Nagle + delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        ws="none",  # no websockets import (its deprecation warnings fail strict test runs)
        lifespan="auto",
        timeout_graceful_shutdown=shutdown_timeout,
    )
    server = _EmbeddedServer(config)
    task = asyncio.get_running_loop().create_task(_serve(server, sock))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.005)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        await server.serve(sockets=[sock])
    except SystemExit as e:  # uvicorn exits on lifespan failures; keep the loop alive
        raise RuntimeError(f"uvicorn failed to start (exit code {e.code})") from e
    finally:
        sock.close()
