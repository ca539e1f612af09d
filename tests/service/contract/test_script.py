"""`DirectScript`, the web app's ingest call: the same answers as redis-py's `Script`, and the same
behaviour when Redis restarts, forgets its scripts, is away, or a call is cancelled — against a
redis-server of each test's own (restarted, flushed, stopped)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from service.contract.redis import connect
from service.contract.script import DirectScript
from tests.faults.harness import RedisServer

ECHO = "return {#KEYS, ARGV[1], ARGV[2]}"
SLOW = "local i = 0 while i < tonumber(ARGV[1]) do i = i + 1 end return ARGV[2]"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    await server.start()
    yield server
    server.stop()


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[Redis]:
    client = connect(server.url, retries=2)
    yield client
    await client.aclose()


@pytest.fixture
async def echo(client: Redis) -> AsyncIterator[DirectScript]:
    script = DirectScript(client, ECHO)
    yield script
    await script.aclose()


async def test_answers_as_redis_py_does(client: Redis, echo: DirectScript) -> None:
    keys: list[str] = ["k1", "k2"]
    args: list[str | bytes] = ["text", b"\x00bytes\r\n"]
    expected = await client.register_script(ECHO)(keys=keys, args=args)
    assert await echo(keys=keys, args=args) == expected == [2, b"text", b"\x00bytes\r\n"]
    assert echo.sha == client.register_script(ECHO).sha


async def test_a_script_redis_forgot_is_loaded_again(client: Redis, echo: DirectScript) -> None:
    assert await echo(keys=[], args=["a", "b"]) == [0, b"a", b"b"]
    await client.script_flush()
    assert await echo(keys=[], args=["c", "d"]) == [0, b"c", b"d"]


async def test_a_redis_restarted_between_calls_is_reconnected(
    echo: DirectScript, server: RedisServer
) -> None:
    assert await echo(keys=[], args=["before", "x"]) == [0, b"before", b"x"]
    server.stop()
    await server.start()  # the same port: the kept connection is dead, the script gone
    assert await echo(keys=[], args=["after", "y"]) == [0, b"after", b"y"]


async def test_an_unreachable_redis_raises_after_the_connection_back_off(
    echo: DirectScript, server: RedisServer
) -> None:
    server.stop()
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        await echo(keys=[], args=["a", "b"])
    # the connection's own back-off (0.5 s + 1 s), once: no second round on top of it
    assert time.monotonic() - started < 5


async def test_a_cancelled_call_leaves_no_reply_for_the_next(client: Redis) -> None:
    direct = DirectScript(client, SLOW)
    call = asyncio.create_task(direct(keys=[], args=["3000000", "first"]))
    await asyncio.sleep(0.02)  # sent, its reply not back yet
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await direct(keys=[], args=["1", "second"]) == b"second"
    await direct.aclose()


async def test_a_script_error_is_redis_answer_and_keeps_the_connection(client: Redis) -> None:
    direct = DirectScript(client, "return redis.call('INCR', KEYS[1])")
    await client.set("text", "not a number")
    with pytest.raises(ResponseError):
        await direct(keys=["text"], args=[])
    assert await direct(keys=["n"], args=[]) == 1
    await direct.aclose()
