"""The one way a request reaches awork: through the shared rate limit, retried in place when
that helps, every answer counted, every failure mapped onto `workers.awork.errors`.

One `httpx.AsyncClient` per process (`http_client`), created once and closed once with the
process context (stack-notes section 10).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from service.contract.settings import Settings
from workers.awork.errors import AworkRateLimited, AworkRejected, AworkRetryable
from workers.awork.limiter import Limiter
from workers.awork.retry import POLICY, RetryPolicy
from workers.telemetry import WorkerMetrics

log = logging.getLogger(__name__)

MAX_INLINE_WAIT = 2.0
"""Limiter waits up to this long are awaited in place; longer ones raise `AworkRateLimited`
(a job turns that into `arq.Retry`, freeing its slot)."""
PAGE_SIZE = 1000
"""awork's largest page (api-notes 2.3): always sent, awork's default is smaller."""
DEFAULT_RESET_SECONDS = 10.0
"""How long a 429 without a `ratelimit-reset` pauses every worker."""
RESET_BOUNDS = (0.5, 120.0)
"""The range a wait read from awork's headers is held to: awork's windows are a second and a
minute, so anything else is a proxy's or a bug's garbage — it must not pause every worker for
years, nor spin."""


def http_client(settings: Settings) -> httpx.AsyncClient:
    """One pooled client per process, with timeouts long enough for bulk calls."""
    token = settings.awork_api_token.get_secret_value() if settings.awork_api_token else ""
    return httpx.AsyncClient(
        base_url=settings.awork_api_url,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=httpx.Timeout(
            connect=5.0, read=settings.awork_timeout_seconds, write=10.0, pool=10.0
        ),
        limits=httpx.Limits(max_connections=settings.awork_max_connections, keepalive_expiry=30),
        transport=httpx.AsyncHTTPTransport(retries=2),
    )


class Transport:
    """Sends requests to awork (`send`, `json`) for the typed clients built on it."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        limiter: Limiter,
        metrics: WorkerMetrics,
        policy: RetryPolicy = POLICY,
        *,
        connections: int = 20,
    ) -> None:
        self._http = http
        self._limiter = limiter
        self._metrics = metrics
        self._policy = policy
        # one call per pooled connection: a call waits here, before the limiter, so the shared
        # budget is never granted to a call that would then wait for a connection (and end in
        # httpx's PoolTimeout, counted as awork's timeout)
        self._slots = asyncio.Semaphore(connections)

    async def json(self, method: str, path: str, *, operation: str, **kw: Any) -> Any:
        """The decoded JSON answer (None when empty) of one request."""
        response = await self.send(method, path, operation=operation, **kw)
        return decode(response, operation)

    async def pages(
        self, path: str, params: dict[str, str], *, operation: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a listing (`page` = 1, 2, …) until one is shorter than `pageSize`."""
        params = {"pageSize": str(PAGE_SIZE), **params}
        size = int(params["pageSize"])
        page = 1
        while True:
            query = {**params, "page": str(page)}
            data = await self.json("GET", path, params=query, operation=operation)
            items = data if isinstance(data, list) else []
            yield [item for item in items if isinstance(item, dict)]
            if len(items) < size:
                return
            page += 1

    async def send(self, method: str, path: str, *, operation: str, **kw: Any) -> httpx.Response:
        """One request, retried in place as the policy says; raises `AworkError`s."""
        attempt = 0
        while True:
            try:
                return await self._send_once(method, path, operation=operation, **kw)
            except AworkRetryable as e:
                if not self._policy.quick(e, attempt):
                    raise
                await self._policy.sleep(self._policy.quick_delay(attempt))
                attempt += 1

    async def _send_once(
        self, method: str, path: str, *, operation: str, **kw: Any
    ) -> httpx.Response:
        async with self._slots:
            return await self._call(method, path, operation=operation, **kw)

    async def _call(self, method: str, path: str, *, operation: str, **kw: Any) -> httpx.Response:
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
            await self._policy.sleep(wait)

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
            reset = _reset(response.headers)
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
            await self._limiter.pause(_reset(headers))


def decode(response: httpx.Response, operation: str) -> Any:
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


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        data = response.json()
    except ValueError:
        return None, response.text[:200] or None
    if not isinstance(data, dict):
        return None, None
    return data.get("code"), data.get("description")


def _reset(headers: httpx.Headers) -> float:
    """`ratelimit-reset` in seconds, held to `RESET_BOUNDS` (absent or unreadable: the default)."""
    seconds = _seconds(headers.get("ratelimit-reset"))
    if seconds is None or seconds != seconds:  # absent, or NaN
        return DEFAULT_RESET_SECONDS
    low, high = RESET_BOUNDS
    return min(max(seconds, low), high)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
