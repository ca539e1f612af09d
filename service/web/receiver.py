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

from service.contract.records import IngestRow, stored
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
        # one coroutine per request (each nested one costs a frame and a step per resumption):
        # the checks and the parse are plain functions, the write is the committer's future
        state: dict[str, Any] = scope["state"]
        token, content_type, length = self._read_headers(scope)
        event_type, answer = "unknown", self._refusal(token, content_type, length)
        if answer is None:
            try:
                event = parse_event(await self._read_body(receive))
            except BodyTooLarge:
                answer = self._too_large
            except EventError as e:
                answer = _error(400, "bad_request", e.error, e.detail)
            else:
                event_type = event.event_type if event.event_type in _LABELS else "other"
                key = event.queue_key
                if key is None:
                    answer = IGNORED
                else:
                    committer: Committer = state["committer"]
                    try:
                        answer = QUEUED if await committer.submit(_row(event, key)) else DUPLICATE
                    except Exception as e:  # Redis down, or shutting down: awork must retry
                        answer = _unavailable(e, event, key)
        metrics: WebMetrics = state["metrics"]
        metrics.count_webhook(event_type, answer.outcome)
        start = {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        await send(start)
        await send({"type": "http.response.body", "body": answer.body})

    def _refusal(
        self, token: bytes | None, content_type: bytes, length: int | None
    ) -> Answer | None:
        """The answer to a request refused on its headers alone (401, 415, 413), else None."""
        if not self._authorized(token):
            return UNAUTHORIZED
        if not _is_json(content_type):
            return UNSUPPORTED
        if length is not None and length > self._max_bytes:
            return self._too_large
        return None

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

    async def _read_body(self, receive: Receive) -> bytes:
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
            if not message.get("more_body", False):
                # the usual case, a body in one message, needs no join
                return b"".join((*chunks, chunk)) if chunks else chunk
            chunks.append(chunk)


def _row(event: WebhookEvent, key: str) -> IngestRow:
    """What the queue writes for `event` under `key`: its dedup key, who, and its record."""
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
    return (event.dedup_key(), key, author, record)


def _unavailable(error: Exception, event: WebhookEvent, key: str) -> Answer:
    extra = {"entry_id": key, "event": event.event_type}
    log.warning("webhook not queued (%s): %s", type(error).__name__, key, extra=extra)
    return UNAVAILABLE


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
