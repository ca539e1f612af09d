"""Hostile input at `POST /webhooks/awork`: whatever arrives — any JSON-ish body, bytes, sizes,
headers and content types — the answer is one of SPEC section 4's codes, never a 5xx, and a
refused request leaves Redis exactly as it was. Oversized bodies are cut off while they stream.

The real app over loopback HTTP with a real Redis (fixtures `web`, `redis`, `prefix`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import string
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from service.contract import Keys
from service.contract.settings import Settings
from service.contract.webhooks import TIME_ENTRY_EVENTS
from service.sandbox import envelope, seed_workspace
from service.web.events import EventError, parse_event
from tests.support.config import WEBHOOK_TOKEN, make_settings

MAX_BYTES = 4096
SPEC_CODES = {200, 202, 400, 401, 413, 415}
PERSON = {"id": "6f1f5e43-8a43-4d4b-9e7f-0d6a8c1b2a10", "firstName": "Carla", "lastName": "C"}
ENTRIES = list(seed_workspace(entries=20, seed=3).entries.values())
EVENT_TYPES = [*sorted(TIME_ENTRY_EVENTS), "project_updated", "task_added", ""]


@pytest.fixture
def settings(prefix: str, rules_file: Path) -> Settings:
    """The shared `web` fixture with a small body limit, so sizes around it are cheap to try."""
    return make_settings(prefix, rules_file, webhook_max_bytes=MAX_BYTES)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A real envelope with some fields deleted or replaced by anything."""
    body = copy.deepcopy(
        envelope(
            draw(st.sampled_from(EVENT_TYPES[:-1])),
            draw(st.sampled_from(ENTRIES)),
            triggered_by=PERSON,
            changes=None,
        )
    )
    for target in (body, body["entity"]):
        for key in draw(st.lists(st.sampled_from(sorted(target)), max_size=3, unique=True)):
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(json_values)
    return body


def encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: written as JSON by hand
        return str(value).encode() if isinstance(value, int) else b"{}"


bodies = st.one_of(
    envelopes().map(encode),
    json_values.map(encode),
    st.binary(max_size=300),
    st.integers(min_value=MAX_BYTES - 200, max_value=3 * MAX_BYTES).map(
        lambda n: orjson.dumps({"eventType": "timetracking_updated", "pad": "x" * n})
    ),
)
# mostly the right token and a JSON type, so that most examples reach the body checks
tokens = st.sampled_from([WEBHOOK_TOKEN] * 6 + [f"Bearer {WEBHOOK_TOKEN}", "wrong", "", None])
json_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.awork+json",
    ]
)
other_types = st.sampled_from(
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
) | st.text(alphabet=string.printable.strip(), max_size=30)
content_types = st.one_of(json_types, json_types, json_types, other_types)
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "content-type"}
extra_headers = st.dictionaries(
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
        lambda name: name.lower() not in FRAMING and name.lower() != "x-webhook-token"
    ),
    st.text(alphabet=string.printable.strip(" \t\r\n\x0b\x0c"), max_size=40),
    max_size=4,
)


async def own_keys(redis: Redis, prefix: str) -> list[bytes]:
    """Every key of this test's installation (a full scan: for the few non-fuzz tests)."""
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=10_000)]
    return keys + [k async for k in redis.scan_iter(match=f"arq:*:{prefix}:*", count=10_000)]


async def state_of(redis: Redis, prefix: str, body: bytes) -> tuple[Any, ...]:
    """What one request could write: the pending entries, the flush jobs, and the dedup key of
    `body`'s event if it has one (targeted reads: a scan per example would cost seconds on the
    shared test database)."""
    keys = Keys(prefix)
    try:
        dedup = keys.dedup(parse_event(body).dedup_key())
    except EventError:
        dedup = keys.dedup("-")
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.pending)
        pipe.zrange(keys.queue, 0, -1, withscores=True)
        pipe.exists(dedup)
        return tuple(await pipe.execute())


@hypothesis_settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, token=tokens, content_type=content_types, extra=extra_headers)
async def test_the_webhook_survives_anything(
    web: httpx.AsyncClient,
    redis: Redis,
    prefix: str,
    body: bytes,
    token: str | None,
    content_type: str | None,
    extra: dict[str, str],
) -> None:
    headers = dict(extra)
    if token is not None:
        headers["X-Webhook-Token"] = token
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = await state_of(redis, prefix, body)
    response = await web.post("/webhooks/awork", content=body, headers=headers)
    assert response.status_code in SPEC_CODES, (response.status_code, response.text)
    answer = response.json()
    if token != WEBHOOK_TOKEN:
        assert response.status_code == 401
    if response.status_code == 202:
        assert answer["status"] in ("queued", "duplicate")
        return
    if response.status_code == 200:
        assert answer == {"status": "ignored"}
    else:
        assert set(answer) == {"error", "detail"}
    assert await state_of(redis, prefix, body) == before, "a refused request changed Redis"


async def open_raw(web: httpx.AsyncClient) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(str(web.base_url))
    return await asyncio.open_connection(url.hostname, url.port)


def head(extra: str) -> bytes:
    return (
        "POST /webhooks/awork HTTP/1.1\r\nHost: test\r\n"
        f"X-Webhook-Token: {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


async def test_a_chunked_body_over_the_limit_is_cut_off_while_it_streams(
    web: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    reader, writer = await open_raw(web)
    writer.write(head("Transfer-Encoding: chunked\r\n"))
    chunk = b'{"pad":"' + b"x" * 1000
    sent, total, answer = 0, 64, b""
    try:
        for sent in range(1, total + 1):  # noqa: B007 - `sent` is read after the loop
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.05)
                break
    except ConnectionError:  # the server may close the connection right after answering
        answer = answer or await reader.read(200)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 413"), answer
    # answered after a little more than the limit, long before the client was done
    assert sent * len(chunk) < 3 * MAX_BYTES < total * len(chunk)
    assert await own_keys(redis, prefix) == []


async def test_a_declared_length_over_the_limit_is_refused_before_any_body(
    web: httpx.AsyncClient, redis: Redis, prefix: str
) -> None:
    reader, writer = await open_raw(web)
    try:
        writer.write(head(f"Content-Length: {100 * MAX_BYTES}\r\n"))  # and no body at all
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 413")
    assert await own_keys(redis, prefix) == []
