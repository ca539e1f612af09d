"""Everything one sandbox holds (`app.state.sandbox`): workspace, faults, the API calls it
answered, its webhooks and their delivery log.

Tests assert outcomes on it: `state.workspace.entries[id]`, `state.count("POST",
"/timeentries/batch/{operation}", 207)`, `state.deliveries`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from service.sandbox import timekeeping
from service.sandbox.delivery import Deliverer, DeliveryRecord, DeliveryReport, Hook
from service.sandbox.envelopes import updated
from service.sandbox.faults import Faults, RateLimiter
from service.sandbox.models import Entity
from service.sandbox.workspace import Change, Workspace


@dataclass(frozen=True)
class CallRecord:
    """One API call as the sandbox answered it (control routes are not recorded)."""

    method: str
    path: str
    template: str | None
    """The route, e.g. `/timeentries/batch/{operation}`; None when no route matched."""
    query: str
    status: int
    json: Any
    """The parsed JSON request body, or None (no body, not JSON, or refused before reading)."""
    time: float


def sandbox_of(request: Request) -> SandboxState:
    """The `SandboxState` of the app serving `request`."""
    state: SandboxState = request.app.state.sandbox
    return state


@dataclass(eq=False)
class SandboxState:
    workspace: Workspace
    faults: Faults = field(default_factory=Faults)
    delivery: Deliverer = field(default_factory=Deliverer, repr=False)
    limiter: RateLimiter = field(default_factory=RateLimiter, repr=False)
    calls: list[CallRecord] = field(default_factory=list, repr=False)
    check_responses: bool = False
    """Validate every answer against the published response schemas (`conformance`)."""
    violations: list[str] = field(default_factory=list, repr=False)
    """Answers that broke the published contract (each was replaced by a 500)."""
    _background: set[asyncio.Task[Any]] = field(default_factory=set, init=False, repr=False)

    @property
    def hooks(self) -> dict[str, Hook]:
        """Registered webhooks by id."""
        return self.delivery.hooks

    @property
    def deliveries(self) -> deque[DeliveryRecord]:
        """Every delivery attempt, oldest first."""
        return self.delivery.records

    def count(
        self, method: str | None = None, template: str | None = None, status: int | None = None
    ) -> int:
        """How many recorded API calls match every given criterion."""
        return sum(
            1
            for call in self.calls
            if (method is None or call.method == method)
            and (template is None or call.template == template)
            and (status is None or call.status == status)
        )

    def reset_calls(self) -> None:
        self.calls.clear()

    async def deliver(
        self, events: list[dict[str, Any]], *, nested: bool = False
    ) -> DeliveryReport:
        """POST envelopes to the webhooks that want them (retries included); see `delivery`."""
        return await self.delivery.deliver(events, nested=nested)

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Send the webhooks of an API write in the background (awork answers the write first),
        when `faults.echo_webhooks` is on; see `envelopes` for which events a write sends."""
        if events and self.faults.echo_webhooks:
            self.spawn(self.deliver(events))

    def publish_changes(self, changed: list[tuple[str, list[Change]]], by: Entity) -> None:
        """`publish` the `timetracking_updated` (and `type_changed`) events of changed entries."""
        ws = self.workspace
        events = [
            event
            for entry_id, changes in changed
            for event in updated(ws.entries[entry_id], changes, triggered_by=by)
        ]
        self.publish(events)

    def tick(self) -> None:
        """Before each API call: stop timers that have run 24 h (`timekeeping.expire`)."""
        for entry_id, changes, owner in timekeeping.expire(self.workspace):
            self.publish_changes([(entry_id, changes)], owner)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until background deliveries are done (tests: "after the echoes arrived")."""
        async with asyncio.timeout(timeout):
            # only the unfinished: since Python 3.12 gathering finished tasks returns without
            # yielding, so their done callbacks (which drop them from the set) would never run
            # and this loop would spin
            while running := [task for task in self._background if not task.done()]:
                await asyncio.gather(*running)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Finish (or after `timeout`, cancel) background deliveries, then close the client."""
        try:
            await self.settle(timeout)
        except TimeoutError:
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await self.delivery.aclose()
