"""`POST /webhooks/awork`: authenticate, check, and durably queue awork's webhooks (SPEC section 4).

This is the one hot route (a project change fans out into thousands of deliveries), so it is a
plain ASGI app rather than a Starlette `Request`/`Response` endpoint: it reads only the headers it
needs, stops reading a body at `WEBHOOK_MAX_BYTES` (Content-Length or not), and answers with
pre-encoded bodies. Order of checks: token (401), content type (415), size (413), body (400).
Nothing is written to Redis unless every check passed; nothing is answered 2xx unless the write
is back from Redis; a Redis failure is 503 so that awork retries.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any, NamedTuple

import orjson
from starlette.types import Receive, Scope, Send

from service.contract.records import stored
from service.contract.settings import Settings
from service.contract.webhooks import EVENTS
from service.web.committer import Committer
from service.web.events import EventError, WebhookEvent, parse_event
from service.web.metrics import WebMetrics

log = logging.getLogger(__name__)


class Answer(NamedTuple):
    """A pre-encoded answer (headers included) and its `outcome` label in
    `awork_billing_webhooks_total`."""

    status: int
    body: bytes
    outcome: str
    headers: list[tuple[bytes, bytes]]

    @classmethod
    def of(cls, status: int, body: bytes, outcome: str) -> Answer:
        length = str(len(body)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        return cls(status, body, outcome, headers)


def _error(status: int, outcome: str, error: str, detail: object = None) -> Answer:
    return Answer.of(status, orjson.dumps({"error": error, "detail": detail}), outcome)


QUEUED = Answer.of(202, b'{"status":"queued"}', "queued")
DUPLICATE = Answer.of(202, b'{"status":"duplicate"}', "duplicate")
IGNORED = Answer.of(200, b'{"status":"ignored"}', "ignored")
UNAUTHORIZED = _error(401, "unauthorized", "unauthorized", "missing or wrong webhook token")
UNSUPPORTED = _error(
    415, "unsupported_media_type", "unsupported media type", "send Content-Type: application/json"
)
UNAVAILABLE = _error(503, "unavailable", "queue unavailable", "Redis is unreachable; retry later")


class BodyTooLarge(Exception):
    """The body passed `WEBHOOK_MAX_BYTES`; reading stopped there."""


class WebhookEndpoint:
    """The ASGI app behind `POST /webhooks/awork`; resources come from the lifespan state."""

    def __init__(self, settings: Settings) -> None:
        self._tokens = [t.encode() for t in settings.webhook_tokens()]
        self._header = settings.webhook_token_header.lower().encode("latin-1")
        self._bearer = self._header == b"authorization"
        self._max_bytes = settings.webhook_max_bytes
        self._too_large = _error(
            413, "too_large", "payload too large", f"limit is {self._max_bytes} bytes"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: dict[str, Any] = scope["state"]
        metrics: WebMetrics = state["metrics"]
        event_type, answer = await self._handle(scope, receive, state["committer"])
        metrics.count_webhook(event_type, answer.outcome)
        start = {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        await send(start)
        await send({"type": "http.response.body", "body": answer.body})

    async def _handle(
        self, scope: Scope, receive: Receive, committer: Committer
    ) -> tuple[str, Answer]:
        token, content_type, length = self._read_headers(scope)
        if not self._authorized(token):
            return "unknown", UNAUTHORIZED
        if not _is_json(content_type):
            return "unknown", UNSUPPORTED
        try:
            raw = await self._read_body(receive, length)
            event = parse_event(raw)
        except BodyTooLarge:
            return "unknown", self._too_large
        except EventError as e:
            return "unknown", _error(400, "bad_request", e.error, e.detail)
        label = event.event_type if event.event_type in _LABELS else "other"
        if event.queue_key is None:
            return label, IGNORED
        return label, await _enqueue(committer, event, event.queue_key)

    def _read_headers(self, scope: Scope) -> tuple[bytes | None, bytes, int | None]:
        token: bytes | None = None
        content_type = b""
        length: int | None = None
        for name, value in scope["headers"]:
            if name == self._header:
                token = value
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = int(value) if value.isdigit() else None
        return token, content_type, length

    def _authorized(self, token: bytes | None) -> bool:
        if token is None or not self._tokens:
            return False
        if self._bearer and token[:7].lower() == b"bearer ":
            token = token[7:].strip()
        # compare with every accepted token (rotation) without stopping at the first match
        matches = [hmac.compare_digest(token, accepted) for accepted in self._tokens]
        return any(matches)

    async def _read_body(self, receive: Receive, length: int | None) -> bytes:
        if length is not None and length > self._max_bytes:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise EventError("incomplete body", "the client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                # the usual case, a body in one message, needs no join
                return chunk if len(chunks) == 1 else b"".join(chunks)


async def _enqueue(committer: Committer, event: WebhookEvent, key: str) -> Answer:
    # no `triggeredBy`: someone, not the service — its own writes always name its API user, and
    # an author left out must not make a person's change look like an echo (skipped)
    author = event.triggered_by or UNKNOWN_AUTHOR
    record = stored(
        event.resource_version,
        event.event_type,
        [author],
        # who changed what by hand: rules may leave those attributes alone
        [f"{author}|{prop}" for prop in _locking(event)],
        int(time.time() * 1000),
    )
    try:
        fresh = await committer.submit((event.dedup_key(), key, author, record))
    except Exception as e:  # Redis down, or shutting down: awork must retry
        extra = {"entry_id": key, "event": event.event_type}
        log.warning("webhook not queued (%s): %s", type(e).__name__, key, extra=extra)
        return UNAVAILABLE
    return QUEUED if fresh else DUPLICATE


UNKNOWN_AUTHOR = "unknown"


def _locking(event: WebhookEvent) -> list[str]:
    """What a person changed by hand on an entry (old ≠ new in `changes[]`) that locks a billing
    attribute: only an update does — a new entry lists every property it was created with, and
    a deletion or a project's side effect is nobody's choice of billing."""
    if event.event_type != "timetracking_updated":
        return []
    return list(event.changed)  # the parser keeps only `LOCKING_PROPERTIES`


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


_LABELS = frozenset(EVENTS)
