"""Sending webhooks the way awork does (SPEC 7.1, api-notes 1.5).

Each envelope goes to every active webhook subscribed to its event type as a JSON POST with the
configured header. A 2xx within `timeout` (awork: 30 s) is a success; anything else is retried up
to `max_retries` (awork: 10) times, `retry_delay` × attempt apart (awork's schedule is
undocumented; the sandbox keeps it short). A webhook failing more than `max_retries` times in a
row is paused (`isActive: false`, `lastFailureReason`) until someone re-enables it with
`PUT /webhooks/{id}`; while paused its events are dropped, as awork does. Every attempt is logged
(`GET /webhooks/{id}/logs`). Deliveries run concurrently (at most `concurrency` POSTs at once),
so order is not guaranteed, as with awork.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from service.sandbox.clock import iso_ticks, now_ticks

LOG_LIMIT = 10_000


@dataclass
class Hook:
    """A registered webhook: its `WebhookConfig` (as the API shows it) and delivery state."""

    config: dict[str, Any]
    headers: dict[str, str]
    consecutive_failures: int = 0
    logs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))

    @property
    def id(self) -> str:
        hook_id: str = self.config["id"]
        return hook_id

    def wants(self, event_type: str, *, nested: bool) -> bool:
        """Active, subscribed, and not filtered by `onlyTriggerForMainEntityChanges`."""
        events = {e.strip() for e in self.config["events"].split(",")}
        main_only = bool(self.config.get("onlyTriggerForMainEntityChanges"))
        return bool(self.config["isActive"]) and event_type in events and not (nested and main_only)


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery attempt (`status` 0: no HTTP answer, see `reason`)."""

    time: float
    webhook_id: str
    event_type: str
    entity_id: str
    attempt: int
    status: int
    ok: bool
    reason: str | None


@dataclass
class DeliveryReport:
    """What one `deliver` call did; `statuses` counts attempts by HTTP status (0: no answer)."""

    events: int = 0
    deliveries: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    attempts: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "deliveries": self.deliveries,
            "delivered": self.delivered,
            "failed": self.failed,
            "dropped": self.dropped,
            "attempts": self.attempts,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


class Deliverer:
    """Delivers envelopes to the registered webhooks (`hooks`, by id)."""

    def __init__(
        self,
        *,
        concurrency: int = 32,
        max_retries: int = 10,
        retry_delay: float = 0.02,
        timeout: float = 30.0,
    ) -> None:
        self.hooks: dict[str, Hook] = {}
        self.records: deque[DeliveryRecord] = deque(maxlen=100_000)
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    async def deliver(
        self, events: list[dict[str, Any]], *, nested: bool = False
    ) -> DeliveryReport:
        """Deliver every envelope to every webhook that wants it; returns when all are done.

        `nested`: the events come from a change of a nested entity (a project, say), which
        webhooks with `onlyTriggerForMainEntityChanges` do not receive.
        """
        report = DeliveryReport(events=len(events))
        jobs = [
            self._deliver_one(hook, event, report)
            for event in events
            for hook in list(self.hooks.values())
            if hook.wants(event["eventType"], nested=nested)
        ]
        report.deliveries = len(jobs)
        await asyncio.gather(*jobs)
        return report

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _deliver_one(self, hook: Hook, event: dict[str, Any], report: DeliveryReport) -> None:
        body = orjson.dumps(event)
        for attempt in range(1, self.max_retries + 2):
            if not hook.config["isActive"]:
                report.dropped += 1
                return
            status, reason = await self._post(hook, body)
            report.attempts += 1
            report.statuses[status] += 1
            ok = 200 <= status < 300
            self._log(hook, event, attempt, status, reason)
            if ok:
                hook.consecutive_failures = 0
                report.delivered += 1
                return
            hook.consecutive_failures += 1
            if hook.consecutive_failures > self.max_retries:
                self._pause(hook, reason)
                break
            if attempt <= self.max_retries:
                await asyncio.sleep(self.retry_delay * attempt)
        report.failed += 1

    async def _post(self, hook: Hook, body: bytes) -> tuple[int, str | None]:
        if self._client is None:
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=self.concurrency),
                headers={"User-Agent": "awork-sandbox-webhooks"},
            )
            self._slots = asyncio.Semaphore(self.concurrency)
        assert self._slots is not None
        headers = {"Content-Type": "application/json", **hook.headers}
        async with self._slots:
            try:
                response = await self._client.post(
                    hook.config["uri"], content=body, headers=headers, timeout=self.timeout
                )
            except httpx.TimeoutException:
                return 0, f"No answer within {self.timeout:g} s"
            except httpx.HTTPError as e:
                return 0, f"{type(e).__name__}: {e}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def _log(
        self, hook: Hook, event: dict[str, Any], attempt: int, status: int, reason: str | None
    ) -> None:
        ok = 200 <= status < 300
        self.records.append(
            DeliveryRecord(
                time.time(),
                hook.id,
                event["eventType"],
                event["entityId"],
                attempt,
                status,
                ok,
                reason,
            )
        )
        hook.logs.append(
            {
                "message": f"{event['eventType']} {event['entityId']} (attempt {attempt})",
                "webhookId": hook.id,
                "responseCode": status,
                "createdOn": iso_ticks(now_ticks()),
                "reason": reason,
                "isSuccessful": ok,
            }
        )

    def _pause(self, hook: Hook, reason: str | None) -> None:
        hook.config["isActive"] = False
        hook.config["lastFailureReason"] = (
            f"Paused after {hook.consecutive_failures} failed deliveries in a row: {reason}"
        )
        hook.config["updatedOn"] = iso_ticks(now_ticks())
