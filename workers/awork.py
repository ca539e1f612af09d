"""The awork API client: bulk reads, bulk writes (batch or legacy), webhook admin, through the
shared rate limit; failures raise the errors of `workers.aworkerrors` (re-exported here).

One client per worker process (created at worker start-up, closed at shutdown: stack-notes
section 10).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from workers.aworkerrors import AworkError, AworkRateLimited, AworkRejected, AworkRetryable
from workers.limiter import Limiter
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

__all__ = [
    "AworkClient",
    "AworkError",
    "AworkRateLimited",
    "AworkRejected",
    "AworkRetryable",
    "BatchResult",
    "EntryPage",
]

Attribute = Literal["billable", "billed", "type_of_work"]
QUICK_RETRIES = 2
"""A 5xx or a lost connection is tried again in place (after ~0.2 s, then ~0.4 s) before the job
is retried with back-off: with a fifth of awork's answers failing, a batch needing 20 calls
would almost never get through in one try otherwise. Not for timeouts (each already cost
`AWORK_TIMEOUT_SECONDS`) nor 429s (the shared limiter decides when to call again). Every call
is idempotent (reads, "set to X" writes), so a retry cannot do harm."""
MAX_INLINE_WAIT = 2.0
"""Limiter waits up to this long are awaited in place; longer ones become a job `Retry`."""

ENTRY_ORDER = "startDateUtc asc,startTimeUtc asc,id asc"
"""A listing order the service's own writes cannot change (they set billing attributes only)."""

BATCH_OPERATIONS: dict[Attribute, tuple[str, str]] = {
    "billable": ("setIsBillable", "isBillable"),
    "billed": ("setIsBilled", "isBilled"),
    "type_of_work": ("setTypeOfWork", "newTypeOfWorkId"),
}


@dataclass
class BatchResult:
    """Per-id outcome of a bulk write (awork's 207 MultiStatusResult; legacy 204 = all ok)."""

    ok: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    unauthorized: list[str] = field(default_factory=list)
    bad_request: list[str] = field(default_factory=list)


@dataclass
class EntryPage:
    """One page of a time-entry listing: its entries, its number, awork's total (if sent)."""

    items: list[dict[str, Any]]
    page: int
    total: int | None


class AworkClient:
    """Typed calls to the few awork endpoints the service uses, through the shared limiter."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        limiter: Limiter,
        metrics: WorkerMetrics,
        *,
        bulk_api: Literal["batch", "legacy"] = "batch",
    ) -> None:
        self._http = http
        self._limiter = limiter
        self._metrics = metrics
        self._bulk_api = bulk_api

    async def me(self) -> dict[str, Any]:
        """The API user behind the token: the author of this service's own writes."""
        data = await self._json("GET", "/me", operation="me")
        assert isinstance(data, dict)
        return data

    async def types_of_work(self) -> list[dict[str, Any]]:
        """Every type of work (archived ones too: a rule may name one)."""
        types: list[dict[str, Any]] = []
        params = {"showArchived": "true", "pageSize": "1000"}
        async for page in self._pages("/typeofwork", params, operation="typeofwork"):
            types += page
        return types

    async def entries_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Current state of `ids` in one read (`id in (…)`); missing ids are absent."""
        literals = ",".join(f"guid'{i}'" for i in ids)
        params = {"filterby": f"id in ({literals})", "pageSize": "1000"}
        found: dict[str, dict[str, Any]] = {}
        async for page in self._pages("/timeentries", params, operation="timeentries"):
            found.update((e["id"], e) for e in page if isinstance(e, dict) and "id" in e)
        return found

    async def lookup(self, path: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Projects, tasks or companies (`path`) by id, in one filtered read."""
        literals = ",".join(f"guid'{i}'" for i in ids)
        params = {"filterby": f"id in ({literals})", "pageSize": "1000"}
        found: list[dict[str, Any]] = []
        async for page in self._pages(path, params, operation=path.strip("/")):
            found += [item for item in page if isinstance(item, dict) and "id" in item]
        return found

    async def custom_field_definitions(self) -> list[dict[str, Any]]:
        """Every custom field definition (names of project and task custom fields)."""
        found: list[dict[str, Any]] = []
        params = {"pageSize": "1000"}
        async for page in self._pages("/customfielddefinitions", params, operation="customfields"):
            found += [item for item in page if isinstance(item, dict)]
        return found

    async def list_entries(self, filterby: str, page_size: int = 1000) -> AsyncIterator[list[Any]]:
        """Pages of entries matching `filterby` (awork's OData-like filter)."""
        params = {"filterby": filterby, "pageSize": str(page_size), "orderby": "updatedOn asc"}
        async for page in self._pages("/timeentries", params, operation="timeentries"):
            yield page

    async def set_attribute(
        self, attribute: Attribute, value: bool | str, ids: Sequence[str]
    ) -> BatchResult:
        """Set `attribute` to `value` on `ids` with one bulk call (batch or legacy endpoint)."""
        if self._bulk_api == "legacy":
            return await self._legacy(attribute, value, ids)
        operation, name = BATCH_OPERATIONS[attribute]
        body = {"timeEntryIds": list(ids), name: value}
        data = await self._json(
            "POST", f"/timeentries/batch/{operation}", json=body, operation=operation
        )
        return _batch_result(data if isinstance(data, dict) else {})

    async def entries_page(
        self, filterby: str, page: int, *, page_size: int = 1000, orderby: str = ENTRY_ORDER
    ) -> EntryPage:
        """One page of entries matching `filterby`, with awork's total (`aw-totalitems`).

        For reading a period page by page and resuming at a page (`awork-billing backfill`): the
        default order (start, then id) is not changed by this service's own writes, so pages stay
        put while they are being fixed.
        """
        params = {"filterby": filterby, "orderby": orderby, "page": str(page),
                  "pageSize": str(page_size)}  # fmt: skip
        response = await self._send("GET", "/timeentries", params=params, operation="timeentries")
        data = _decode(response, "timeentries")
        items = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
        total = response.headers.get("aw-totalitems", "")
        return EntryPage(items, page, int(total) if total.isdigit() else None)

    async def webhooks(self) -> list[dict[str, Any]]:
        """Every webhook configuration of the workspace (`GET /webhooks`, admin only)."""
        found: list[dict[str, Any]] = []
        async for page in self._pages("/webhooks", {"pageSize": "1000"}, operation="webhooks"):
            found += [item for item in page if isinstance(item, dict)]
        return found

    async def webhook(self, webhook_id: str) -> dict[str, Any]:
        """One webhook configuration (`GET /webhooks/{id}`; `AworkRejected` 404 when gone)."""
        data = await self._json("GET", f"/webhooks/{webhook_id}", operation="webhook")
        return data if isinstance(data, dict) else {}

    async def create_webhook(self, form: dict[str, Any]) -> dict[str, Any]:
        """Create a webhook from a `WebhookConfigForm` (`POST /webhooks`); its configuration."""
        data = await self._json("POST", "/webhooks", json=form, operation="webhook_create")
        return data if isinstance(data, dict) else {}

    async def update_webhook(self, webhook_id: str, form: dict[str, Any]) -> dict[str, Any]:
        """Replace a webhook's configuration (`PUT /webhooks/{id}`: the whole form)."""
        data = await self._json(
            "PUT", f"/webhooks/{webhook_id}", json=form, operation="webhook_update"
        )
        return data if isinstance(data, dict) else {}

    async def webhook_logs(self, webhook_id: str, count: int = 20) -> list[dict[str, Any]]:
        """The newest `count` delivery log items of a webhook (`GET /webhooks/{id}/logs`)."""
        params = {"orderby": "createdOn desc", "page": "1", "pageSize": str(count)}
        data = await self._json(
            "GET", f"/webhooks/{webhook_id}/logs", params=params, operation="webhook_logs"
        )
        items = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        return sorted(items, key=lambda item: str(item.get("createdOn") or ""), reverse=True)

    async def _legacy(
        self, attribute: Attribute, value: bool | str, ids: Sequence[str]
    ) -> BatchResult:
        body: dict[str, Any] = {"ids": list(ids)}
        if attribute == "type_of_work":
            path = "settypeofwork"
            body["typeOfWorkId"] = value
        else:
            word = "billable" if attribute == "billable" else "billed"
            path = f"set{word}" if value else f"setun{word}"
        await self._json("POST", f"/timeentries/{path}", json=body, operation=path)
        return BatchResult(ok=list(ids))

    async def _pages(
        self, path: str, params: dict[str, str], *, operation: str
    ) -> AsyncIterator[list[Any]]:
        page = 1
        size = int(params.get("pageSize", "1000"))
        while True:
            data = await self._json(
                "GET", path, params={**params, "page": str(page)}, operation=operation
            )
            items = data if isinstance(data, list) else []
            yield items
            if len(items) < size:
                return
            page += 1

    async def _json(self, method: str, path: str, *, operation: str, **kw: Any) -> Any:
        response = await self._send(method, path, operation=operation, **kw)
        return _decode(response, operation)

    async def _send(self, method: str, path: str, *, operation: str, **kw: Any) -> httpx.Response:
        for attempt in range(QUICK_RETRIES + 1):
            try:
                return await self._send_once(method, path, operation=operation, **kw)
            except AworkRetryable as e:
                if attempt == QUICK_RETRIES or not _quick_retry(e):
                    raise
                await asyncio.sleep(0.2 * 2**attempt * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable")

    async def _send_once(
        self, method: str, path: str, *, operation: str, **kw: Any
    ) -> httpx.Response:
        await self._wait_for_budget()
        try:
            response = await self._http.request(method, path, **kw)
        except httpx.TimeoutException as e:
            self._metrics.awork_calls.labels(operation, "timeout").inc()
            raise AworkRetryable(f"{operation}: awork did not answer in time ({e!r})") from e
        except httpx.TransportError as e:
            self._metrics.awork_calls.labels(operation, "error").inc()
            raise AworkRetryable(f"{operation}: cannot reach awork ({e!r})") from e
        self._metrics.awork_calls.labels(operation, str(response.status_code)).inc()
        await self._check(response, operation)
        return response

    async def _wait_for_budget(self) -> None:
        while (wait := await self._limiter.acquire()) > 0:
            self._metrics.rate_limit_wait.inc(min(wait, MAX_INLINE_WAIT))
            if wait > MAX_INLINE_WAIT:
                raise AworkRateLimited("rate limit budget used up", retry_after=wait)
            await asyncio.sleep(wait)

    async def _check(self, response: httpx.Response, operation: str) -> None:
        status = response.status_code
        trace_id = response.headers.get("trace-id")
        await self._slow_down(response)
        if status < 400:
            return
        code, description = _error_body(response)
        message = f"{operation}: awork answered {status} {code or ''} {description or ''}".strip()
        log.warning("%s trace_id=%s", message, trace_id)
        kw: dict[str, Any] = {"status": status, "code": code, "trace_id": trace_id}
        if status == 429:
            self._metrics.rate_limited.inc()
            reset = _seconds(response.headers.get("ratelimit-reset")) or 10.0
            await self._limiter.pause(reset)
            raise AworkRateLimited(message, retry_after=reset, **kw)
        if status >= 500 or status in (408, 409):
            raise AworkRetryable(message, **kw)
        raise AworkRejected(message, **kw)

    async def _slow_down(self, response: httpx.Response) -> None:
        """Other integrations share the budget: when awork says it is nearly spent, wait."""
        headers = response.headers
        if _seconds(headers.get("x-ratelimit-remaining-second")) == 0.0:
            await self._limiter.pause(1.0)
        minute_left = _seconds(headers.get("x-ratelimit-remaining-minute"))
        if minute_left is not None and minute_left <= 2:
            await self._limiter.pause(_seconds(headers.get("ratelimit-reset")) or 10.0)


def _decode(response: httpx.Response, operation: str) -> Any:
    """The JSON body of an answer (None when empty); a non-JSON body is worth a retry."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as e:
        raise AworkRetryable(
            f"{operation}: awork answered {response.status_code} with a non-JSON body",
            status=response.status_code,
            trace_id=response.headers.get("trace-id"),
        ) from e


def _quick_retry(error: AworkRetryable) -> bool:
    timeout = isinstance(error.__cause__, httpx.TimeoutException)
    return not timeout and not isinstance(error, AworkRateLimited)


def _batch_result(data: dict[str, Any]) -> BatchResult:
    def ids(name: str) -> list[str]:
        part = data.get(name) or {}
        return [str(i) for i in (part.get("ids") or [])] if isinstance(part, dict) else []

    return BatchResult(
        ok=ids("ok"),
        not_found=ids("notFound"),
        unauthorized=ids("unauthorized"),
        bad_request=ids("badRequest"),
    )


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        data = response.json()
    except ValueError:
        return None, response.text[:200] or None
    if not isinstance(data, dict):
        return None, None
    return data.get("code"), data.get("description")


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
