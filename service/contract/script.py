"""A Lua script called on one Redis connection of its own: the web app's ingest, once per batch.

redis-py's `Script` goes through the client's per-call layers (a lock, the pool, the retry
wrapper, a health check, argument encoding one by one): 20–60 µs of client CPU on a 24-row
ingest call that costs 270 µs without them (2-core VM; most of the rest is the kernel's part of
the round trip). `DirectScript` packs `EVALSHA` in one go and sends it on a
`redis.asyncio.Connection` it keeps, which still does the socket, the parser, the timeouts, the
health check of an idle connection, the authentication and TLS of the URL.

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
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)
"""What drops the connection (and is tried again); any other error is Redis's answer."""


class DirectScript:
    """`script(keys=[...], args=[...])` as with redis-py's `Script`, on a connection of its own
    taken from `redis`'s pool; `aclose()` gives it back. One call at a time (the caller's
    group commit sends one batch after the other)."""

    def __init__(self, redis: Redis, source: str, *, repeats: int = 1) -> None:
        self._pool = redis.connection_pool
        self._source = source.encode()
        self.sha = hashlib.sha1(self._source).hexdigest()  # noqa: S324 - Redis names scripts so
        self._head = b"$40\r\n" + self.sha.encode() + b"\r\n"
        self._repeats = repeats
        self._connection: AbstractConnection | None = None

    async def __call__(self, *, keys: list[str], args: list[str | bytes]) -> Any:
        packed = self._pack(keys, args)
        for attempt in range(self._repeats + 1):
            connection = await self._connect()  # raises when Redis stays away (after back-off)
            try:
                return await self._call(connection, packed)
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

    def _pack(self, keys: list[str], args: list[str | bytes]) -> bytes:
        """`EVALSHA sha numkeys key... arg...` in the Redis protocol (RESP2 bulk strings)."""
        parts = [b"*%d\r\n$7\r\nEVALSHA\r\n" % (len(keys) + len(args) + 3), self._head]
        count = str(len(keys)).encode()
        parts += (b"$%d\r\n" % len(count), count, b"\r\n")
        for value in (*keys, *args):
            data = value.encode() if isinstance(value, str) else value
            parts += (b"$%d\r\n" % len(data), data, b"\r\n")
        return b"".join(parts)

    async def _connect(self) -> AbstractConnection:
        if self._connection is None:
            self._connection = await self._pool.get_connection()
        return self._connection

    async def _call(self, connection: AbstractConnection, packed: bytes) -> Any:
        try:
            return await _send(connection, packed)
        except NoScriptError:
            await connection.send_command("SCRIPT", "LOAD", self._source)
            await connection.read_response()
            return await _send(connection, packed)

    async def _drop(self) -> None:
        """Close the connection (its state is unknown); the next call takes a fresh one."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.disconnect(nowait=True)
            await self._pool.release(connection)


async def _send(connection: AbstractConnection, packed: bytes) -> Any:
    # the health check PINGs only a connection idle for `health_check_interval` (a clock read
    # otherwise): one a firewall dropped meanwhile fails there, not after the socket timeout
    await connection.send_packed_command(packed, check_health=True)
    return await connection.read_response()
