"""`awork-billing webhook register|status|enable|list` against the sandbox's webhook API — and a
registered webhook delivering to the real web app with the header it expects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from service.app import create_app
from service.contract.webhooks import EVENTS
from service.sandbox import SandboxState, create_sandbox, envelope, running, seed_workspace
from service.sandbox.delivery import Hook
from service.web.events import parse_event
from tests.support.cli import Outcome, cli, use_env
from tests.support.config import WEBHOOK_TOKEN, make_settings

TARGET = "https://billing.example.com/webhooks/awork"


@dataclass
class Awork:
    url: str
    state: SandboxState

    def hook(self) -> Hook:
        (hook,) = self.state.hooks.values()
        return hook

    def calls(self, method: str) -> int:
        return sum(1 for c in self.state.calls if c.method == method and "webhooks" in c.path)


@pytest.fixture
async def awork(
    monkeypatch: pytest.MonkeyPatch, prefix: str, rules_file: Path
) -> AsyncIterator[Awork]:
    app = create_sandbox(seed_workspace(entries=10))
    async with running(app) as url:
        use_env(monkeypatch, prefix=prefix, rules_file=rules_file, awork_url=url)
        yield Awork(url, app.state.sandbox)


async def webhook(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    return await cli(capsys, "webhook", *argv)


async def registered(capsys: pytest.CaptureFixture[str], awork: Awork) -> str:
    outcome = await webhook(capsys, "register", "--url", TARGET)
    assert outcome.code == 0, outcome.err
    return awork.hook().id


AWORK_EVENT_TYPES = (
    *("absence_added", "absence_deleted", "absence_updated"),
    *("company_added", "company_deleted", "company_type_changed", "company_updated"),
    *("project_added", "project_comment_added", "project_deleted", "projectmember_added"),
    *("projectmember_deleted", "project_status_changed", "project_type_changed"),
    "project_updated",
    *("task_added", "taskassignment_added", "taskassignment_deleted", "task_comment_added"),
    *("task_deleted", "tasklist_added", "tasklist_deleted", "tasklist_updated"),
    *("task_status_changed", "task_type_changed", "task_updated"),
    *("timetracking_added", "timetracking_deleted", "timetracking_type_changed"),
    "timetracking_updated",
    *("user_activation_changed", "user_added", "user_deleted", "user_status_changed"),
    "user_updated",
)
"""Every webhook event awork offers (api-notes 1.2)."""


def acted_on() -> set[str]:
    """The event types the receiver queues (the others it answers 200 "ignored")."""
    entity_id = "5d9b8a41-2222-4d4b-9e7f-0d6a8c1b2a10"
    found = set()
    for event_type in AWORK_EVENT_TYPES:
        body = {"eventType": event_type, "entityId": entity_id, "entity": {"id": entity_id}}
        if parse_event(orjson.dumps(body)).queue_key is not None:
            found.add(event_type)
    return found


async def test_register_subscribes_to_exactly_what_the_receiver_acts_on_with_the_token_header(
    capsys: pytest.CaptureFixture[str], awork: Awork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_TOKEN", "new-token, old-token")
    monkeypatch.setenv("WEBHOOK_TOKEN_HEADER", "X-Billing-Token")
    outcome = await webhook(capsys, "register", "--url", TARGET)
    assert outcome.code == 0, outcome.err
    hook = awork.hook()
    config = hook.config
    assert config["uri"] == TARGET
    assert set(config["events"].split(",")) == acted_on()
    assert len(acted_on()) == 11  # 4 time-entry events, 7 changes of what rules read
    assert (config["isActive"], config["authenticationType"]) == (True, "header")
    assert config["authentication"] == "X-Billing-Token=new-token"
    assert hook.headers == {"X-Billing-Token": "new-token"}
    first, hint = outcome.out.splitlines()
    assert first.startswith(f"webhook {hook.id} created: {TARGET}, active")
    assert hint.startswith(f"next: set AWORK_WEBHOOK_ID={hook.id} ")
    assert "new-token" not in outcome.out


async def test_register_again_updates_instead_of_duplicating(
    capsys: pytest.CaptureFixture[str], awork: Awork, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_id = await registered(capsys, awork)
    awork.hook().config["isActive"] = False
    monkeypatch.setenv("PUBLIC_URL", "https://billing.example.com/")
    monkeypatch.setenv("WEBHOOK_TOKEN", "rotated")
    again = await webhook(capsys, "register", "--json")
    assert again.code == 0, again.err
    assert len(awork.state.hooks) == 1
    assert awork.hook().id == hook_id
    assert awork.hook().config["isActive"] is True
    assert awork.hook().headers == {"X-Webhook-Token": "rotated"}
    shown = again.json()
    assert (shown["id"], shown["created"]) == (hook_id, False)
    assert shown["authentication"] == "X-Webhook-Token=***"


async def test_register_needs_a_url(
    capsys: pytest.CaptureFixture[str], awork: Awork, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = await webhook(capsys, "register")
    assert outcome.code == 2
    assert "--url is required (or set PUBLIC_URL" in outcome.error
    monkeypatch.setenv("PUBLIC_URL", "billing.example.com")
    outcome = await webhook(capsys, "register")
    assert (outcome.code, outcome.error.split(":")[1].strip()) == (2, "PUBLIC_URL")
    monkeypatch.delenv("WEBHOOK_TOKEN")
    outcome = await webhook(capsys, "register", "--url", TARGET)
    assert outcome.code == 2
    assert "WEBHOOK_TOKEN" in outcome.error
    assert awork.state.hooks == {}


async def test_a_registered_webhook_reaches_the_web_app(
    capsys: pytest.CaptureFixture[str], awork: Awork, prefix: str, rules_file: Path
) -> None:
    settings = make_settings(prefix, rules_file)
    async with running(create_app(settings)) as web_url:
        outcome = await webhook(capsys, "register", "--url", f"{web_url}/webhooks/awork")
        assert outcome.code == 0, outcome.err
        entry = next(iter(awork.state.workspace.entries.values()))
        person = awork.state.workspace.person(entry["userId"])
        event = envelope("timetracking_updated", entry, triggered_by=person, changes=None)
        report = await awork.state.deliver([event])
    assert report.as_dict()["statuses"] == {"202": 1}
    assert WEBHOOK_TOKEN in awork.hook().config["authentication"]


async def test_status_of_an_active_webhook(
    capsys: pytest.CaptureFixture[str], awork: Awork, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_id = await registered(capsys, awork)
    hook = awork.hook()
    for code, ok in ((500, False), (202, True)):
        hook.logs.append(
            {
                "message": f"timetracking_updated x (attempt 1) {code}",
                "webhookId": hook_id,
                "responseCode": code,
                "createdOn": f"2026-11-02T09:00:0{int(ok)}.0000000Z",
                "reason": None if ok else "HTTP 500",
                "isSuccessful": ok,
            }
        )
    monkeypatch.setenv("AWORK_WEBHOOK_ID", hook_id)
    outcome = await webhook(capsys, "status")
    assert outcome.code == 0, outcome.err
    lines = outcome.out.splitlines()
    assert lines[0] == f"webhook {hook_id} (awork-billing): ACTIVE"
    assert "  last failure: none" in lines
    assert "Newest deliveries (2, 1 failed):" in lines
    deliveries = lines[lines.index("Newest deliveries (2, 1 failed):") + 2 :]
    assert [line.split()[1] for line in deliveries] == ["202", "500"]  # newest first
    as_json = await webhook(capsys, "status", hook_id, "--json", "--deliveries", "1")
    report = as_json.json()
    assert (report["active"], report["missing_events"]) == (True, [])
    assert [d["responseCode"] for d in report["deliveries"]] == [202]


async def test_status_of_a_paused_webhook_exits_1(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    hook_id = await registered(capsys, awork)
    config = awork.hook().config
    config.update(
        isActive=False,
        lastFailureReason="Paused after 11 failed deliveries",
        events="timetracking_updated",
    )
    outcome = await webhook(capsys, "status", hook_id)
    assert outcome.code == 1
    assert "PAUSED" in outcome.out.splitlines()[0]
    assert "  last failure: Paused after 11 failed deliveries" in outcome.out.splitlines()
    assert "missing events: timetracking_added" in outcome.out
    assert outcome.error == (
        f"awork-billing: webhook {hook_id} is paused; `awork-billing "
        f"webhook enable {hook_id}` re-enables it"
    )
    as_json = await webhook(capsys, "status", hook_id, "--json")
    assert as_json.code == 1
    assert as_json.json()["active"] is False
    assert set(as_json.json()["missing_events"]) == set(EVENTS) - {"timetracking_updated"}


async def test_status_needs_a_known_webhook(
    capsys: pytest.CaptureFixture[str], awork: Awork, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = await webhook(capsys, "status")
    assert (missing.code, missing.error) == (
        2,
        "awork-billing: no webhook id: pass ID or set AWORK_WEBHOOK_ID",
    )
    monkeypatch.setenv("AWORK_WEBHOOK_ID", "webhook-1")
    bad = await webhook(capsys, "status")
    assert bad.code == 2
    assert bad.error.startswith("awork-billing: AWORK_WEBHOOK_ID: 'webhook-1' is not")
    unknown = "0b9c8a41-1111-4d4b-9e7f-0d6a8c1b2a10"
    gone = await webhook(capsys, "status", unknown)
    assert (gone.code, gone.error) == (1, f"awork-billing: awork has no webhook {unknown} (404)")


async def test_enable_reenables_a_paused_webhook_as_it_was(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    hook_id = await registered(capsys, awork)
    hook = awork.hook()
    before = dict(hook.config)
    hook.config["isActive"] = False
    awork.state.reset_calls()
    outcome = await webhook(capsys, "enable", hook_id)
    assert (outcome.code, outcome.out) == (0, f"webhook {hook_id} enabled\n")
    after = awork.hook()
    assert after.config["isActive"] is True
    for key in ("name", "uri", "events", "authentication"):
        assert after.config[key] == before[key]
    assert after.headers == {"X-Webhook-Token": WEBHOOK_TOKEN}
    assert awork.calls("PUT") == 1
    again = await webhook(capsys, "enable", hook_id)
    assert (again.code, again.out) == (0, f"webhook {hook_id} was already active\n")
    assert awork.calls("PUT") == 1


async def test_enable_restores_a_header_awork_does_not_show(
    capsys: pytest.CaptureFixture[str], awork: Awork, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_id = await registered(capsys, awork)
    awork.hook().config.update(isActive=False, authentication=None)
    monkeypatch.delenv("WEBHOOK_TOKEN")
    refused = await webhook(capsys, "enable", hook_id)
    assert refused.code == 2
    assert "set WEBHOOK_TOKEN" in refused.error
    assert awork.hook().config["isActive"] is False
    monkeypatch.setenv("WEBHOOK_TOKEN", "tok")
    outcome = await webhook(capsys, "enable", hook_id)
    assert outcome.code == 0, outcome.err
    assert awork.hook().config["authentication"] == "X-Webhook-Token=tok"


async def test_list_hides_secrets(capsys: pytest.CaptureFixture[str], awork: Awork) -> None:
    hook_id = await registered(capsys, awork)
    table = await webhook(capsys, "list")
    assert table.code == 0
    assert table.out.splitlines()[0].split() == ["id", "name", "active", "uri"]
    assert table.out.splitlines()[1].split() == [hook_id, "awork-billing", "true", TARGET]
    as_json = await webhook(capsys, "list", "--json")
    assert [h["authentication"] for h in as_json.json()] == ["X-Webhook-Token=***"]
    assert WEBHOOK_TOKEN not in as_json.out


async def test_a_non_admin_key_is_refused_with_a_hint(
    capsys: pytest.CaptureFixture[str], awork: Awork
) -> None:
    awork.state.workspace.api_user_is_admin = False
    outcome = await webhook(capsys, "register", "--url", TARGET)
    assert outcome.code == 1
    assert "401" in outcome.error
    assert "(check AWORK_API_TOKEN and the API user's rights)" in outcome.error
