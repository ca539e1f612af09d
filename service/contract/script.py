"""A Lua script called on one Redis connection of its own: the web app's ingest, once per batch.

redis-py's `Script` goes through the client's per-call layers (a lock, the pool, the retry
wrapper): 20–60 µs of client CPU on a 24-row ingest call that costs 270 µs without them (2-core
VM; most of the rest is the kernel's part of the round trip). `DirectScript` sends `EVALSHA` on
a `redis.asyncio.Connection` it keeps, which still packs the command and does the socket, the
parser, the timeouts, the health check of an idle connection, the authentication and TLS of the
URL.

Failure handling, as redis-py's would be for the client `connect` builds:
- connecting retries with back-off by itself (the connection's `retry`, as
  `service.contract.redis.connect` sets it), then raises: the caller answers 503;
- a connection error or a timeout on a connection that was up drops it (a reply may still be
  on its way) and sends once more on a new one (a Redis restarted since the last call);
- `NOSCRIPT` (Redis restarted, or `SCRIPT FLUSH`) loads the script and sends the call again;
- a cancelled call drops the connection too: its reply would otherwise answer the next call.

A call sent again after a lost reply may have run already: the ingest's dedup keys make the
second run report those rows as duplicates, which is still an accepted, durable write.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import NoScriptError

from service.contract.redis import RETRY_ON

LOST = tuple(RETRY_ON)
"""What drops the connection (and is tried again), as for the clients `connect` builds; any
other error is Redis's answer."""


class DirectScript:
    """`script(keys=[...], args=[...])` as with redis-py's `Script`, on a connection of its own
    taken from `redis`'s pool; `aclose()` gives it back. One call at a time (the caller's
    group commit sends one batch after the other)."""

    def __init__(self, redis: Redis, source: str, *, repeats: int = 1) -> None:
        self._pool = redis.connection_pool
        self._source = source.encode()
        self.sha = hashlib.sha1(self._source).hexdigest()  # noqa: S324 - Redis names scripts so
        self._repeats = repeats
        self._connection: AbstractConnection | None = None

    async def __call__(self, *, keys: list[str], args: list[str | bytes]) -> Any:
        command = ("EVALSHA", self.sha, len(keys), *keys, *args)
        for attempt in range(self._repeats + 1):
            connection = await self._connect()  # raises when Redis stays away (after back-off)
            try:
                return await self._call(connection, command)
            except LOST:
                await self._drop()
                if attempt == self._repeats:
                    raise
            except asyncio.CancelledError:
                await self._drop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def aclose(self) -> None:
        """Give the connection back to the pool (the pool's owner closes it)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await self._pool.release(connection)

    async def _connect(self) -> AbstractConnection:
        if self._connection is None:
            self._connection = await self._pool.get_connection()
        return self._connection

    async def _call(self, connection: AbstractConnection, command: tuple[Any, ...]) -> Any:
        packed = connection.pack_command(*command)
        try:
            return await _send(connection, packed)
        except NoScriptError:
            await connection.send_command("SCRIPT", "LOAD", self._source)
            await connection.read_response()
            return await _send(connection, packed)

    async def _drop(self) -> None:
        """Close the connection (its state is unknown); the next call takes a fresh one."""
        if self._connection is not None:
            await self._connection.disconnect(nowait=True)
        await self.aclose()


async def _send(connection: AbstractConnection, packed: list[bytes]) -> Any:
    # the health check PINGs only a connection idle for `health_check_interval` (a clock read
    # otherwise): one a firewall dropped meanwhile fails there, not after the socket timeout
    await connection.send_packed_command(packed, check_health=True)
    return await connection.read_response()
