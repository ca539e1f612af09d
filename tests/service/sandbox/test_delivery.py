from __future__ import annotations

import time

from service.sandbox import Workspace, envelope
from tests.service.sandbox.helpers import Receiver, Sandbox, open_receiver, open_sandbox

BATCH = "/timeentries/batch/setIsBillable"


def _unbillable(sandbox: Sandbox, count: int) -> list[str]:
    return [i for i, e in sandbox.ws.entries.items() if not e["isBillable"]][:count]


async def test_a_write_echoes_one_webhook_per_changed_entry(
    hooked: Sandbox, receiver: Receiver
) -> None:
    changed = _unbillable(hooked, 3)
    already = next(i for i, e in hooked.ws.entries.items() if e["isBillable"])
    response = await hooked.client.post(
        BATCH, json={"timeEntryIds": [*changed, already], "isBillable": True}
    )
    assert response.status_code == 207
    await hooked.state.settle()
    assert sorted(e["entityId"] for e in receiver.events) == sorted(changed)
    for headers, body in receiver.requests:
        assert headers["x-webhook-token"] == "s3cret"
        assert headers["content-type"] == "application/json"
        assert body["eventType"] == "timetracking_updated"
        assert body["triggeredBy"]["id"] == hooked.ws.api_user["id"]
        assert body["entity"]["isBillable"] is True
        assert (
            body["entity"]["resourceVersion"]
            == hooked.ws.entries[body["entityId"]]["resourceVersion"]
        )
        assert body["changes"][0] == {"property": "IsBillable", "old": "False", "new": "True"}
        assert body["changes"][-1]["property"] == "UpdatedOn"


async def test_the_echo_never_delays_the_answer(hooked: Sandbox, receiver: Receiver) -> None:
    receiver.delay = 1.0
    started = time.monotonic()
    await hooked.client.post(
        BATCH, json={"timeEntryIds": _unbillable(hooked, 2), "isBillable": True}
    )
    assert time.monotonic() - started < 0.5
    await receiver.wait_for(2)


async def test_no_echo_when_switched_off(hooked: Sandbox, receiver: Receiver) -> None:
    hooked.state.faults.echo_webhooks = False
    await hooked.client.post(
        BATCH, json={"timeEntryIds": _unbillable(hooked, 2), "isBillable": True}
    )
    await hooked.state.settle()
    assert receiver.requests == []


async def test_a_failed_delivery_is_retried(hooked: Sandbox, receiver: Receiver) -> None:
    receiver.script.extend([500, 503])
    entry = next(iter(hooked.ws.entries.values()))
    report = await hooked.state.deliver(
        [envelope("timetracking_updated", entry, triggered_by={}, changes=None)]
    )
    assert (report.delivered, report.failed, report.attempts) == (1, 0, 3)
    assert dict(report.statuses) == {500: 1, 503: 1, 204: 1}
    assert [d.attempt for d in hooked.state.deliveries] == [1, 2, 3]


async def test_a_webhook_is_paused_after_more_than_ten_failures(
    hooked: Sandbox, receiver: Receiver
) -> None:
    receiver.default = 500
    entries = list(hooked.ws.entries.values())
    events = [
        envelope("timetracking_updated", e, triggered_by={}, changes=None) for e in entries[:1]
    ]
    report = await hooked.state.deliver(events)
    assert (report.failed, report.attempts) == (1, 11)
    (hook,) = hooked.state.hooks.values()
    config = (await hooked.client.get(f"/webhooks/{hook.id}")).json()
    assert config["isActive"] is False
    assert "HTTP 500" in config["lastFailureReason"]
    logs = (await hooked.client.get(f"/webhooks/{hook.id}/logs", params={"pageSize": 100})).json()
    assert len(logs) == 11
    assert {(log["responseCode"], log["isSuccessful"]) for log in logs} == {(500, False)}
    dropped = await hooked.state.deliver(
        [envelope("timetracking_updated", entries[1], triggered_by={}, changes=None)]
    )
    assert (dropped.deliveries, len(receiver.requests)) == (0, 11)
    receiver.default = 204
    form = {k: config[k] for k in ("name", "uri", "events", "authenticationType", "authentication")}
    await hooked.client.put(f"/webhooks/{hook.id}", json={**form, "isActive": True})
    resumed = await hooked.state.deliver(events)
    assert resumed.delivered == 1
    assert hooked.state.hooks[hook.id].headers == {"X-Webhook-Token": "s3cret"}


async def test_an_unreachable_receiver_counts_as_status_0(workspace: Workspace) -> None:
    async with open_receiver() as gone:
        url = gone.url
    async with open_sandbox(workspace, webhook_url=url) as box:
        box.state.delivery.retry_delay = 0
        box.state.delivery.max_retries = 2
        entry = next(iter(box.ws.entries.values()))
        report = await box.state.deliver(
            [envelope("timetracking_updated", entry, triggered_by={}, changes=None)]
        )
        assert (report.failed, dict(report.statuses)) == (1, {0: 3})
        assert box.state.deliveries[-1].reason is not None


async def test_many_deliveries_run_concurrently(hooked: Sandbox, receiver: Receiver) -> None:
    receiver.delay = 0.2
    events = [
        envelope("timetracking_updated", e, triggered_by={}, changes=None)
        for e in hooked.ws.entries.values()
    ]
    started = time.monotonic()
    report = await hooked.state.deliver(events)
    assert (report.events, report.delivered) == (60, 60)
    assert time.monotonic() - started < 2.0  # 60 × 0.2 s one after another would take 12 s
