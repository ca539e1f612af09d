"""Secrets never reach a log line (SPEC 3, STYLE 15): every record of a run through the web app
and the worker — wrong token, right token, Redis down, worker start-up (good and refused) — is
formatted by the text and the JSON formatter at DEBUG, and neither token appears anywhere; nor in
the settings' repr."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from service.app import create_app
from service.contract.settings import Settings
from service.sandbox import create_sandbox, envelope, running, seed_workspace
from tests.support.config import make_settings
from tests.support.processes import free_port
from tests.support.worker import billing_for
from workers.awork import AworkError
from workers.cli.stack import worker_running
from workers.telemetry import JsonFormatter

WEBHOOK_SECRET = f"wh-{secrets.token_hex(12)}"
API_SECRET = f"aw-{secrets.token_hex(12)}"
WRONG_API_SECRET = f"aw-wrong-{secrets.token_hex(12)}"
SECRETS = (WEBHOOK_SECRET, API_SECRET, WRONG_API_SECRET)


@pytest.fixture
def formatted() -> Iterator[io.StringIO]:
    """Every record at DEBUG, written by the text formatter and by the JSON formatter."""
    out = io.StringIO()
    handlers = [logging.StreamHandler(out), logging.StreamHandler(out)]
    handlers[0].setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s %(args)s"))
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        root.addHandler(handler)
    yield out
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_no_token_in_any_log_line(
    prefix: str,
    rules_file: Path,
    redis: Redis,
    caplog: pytest.LogCaptureFixture,
    formatted: io.StringIO,
) -> None:
    caplog.set_level(logging.DEBUG)
    workspace = seed_workspace(entries=10, seed=3)
    workspace.api_token = API_SECRET
    entry = next(iter(workspace.entries.values()))
    body = orjson.dumps(
        envelope("timetracking_updated", entry, triggered_by=workspace.api_user, changes=None)
    )
    sandbox_app = create_sandbox(workspace)
    async with running(sandbox_app) as url:
        settings = make_settings(
            prefix,
            rules_file,
            awork_api_url=url,
            awork_api_token=API_SECRET,
            webhook_token=WEBHOOK_SECRET,
        )
        async with running(create_app(settings)) as web_url, httpx.AsyncClient() as client:
            hook = f"{web_url}/webhooks/awork"
            for token in ("wrong", WEBHOOK_SECRET, f"{WEBHOOK_SECRET}x"):
                headers = {"X-Webhook-Token": token, "Content-Type": "application/json"}
                await client.post(hook, content=body, headers=headers)
        down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
        async with running(create_app(down)) as web_url, httpx.AsyncClient() as client:
            headers = {"X-Webhook-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
            answer = await client.post(f"{web_url}/webhooks/awork", content=body, headers=headers)
            assert answer.status_code == 503
        async with worker_running(settings):
            pass
        refused = make_settings(
            prefix, rules_file, awork_api_url=url, awork_api_token=WRONG_API_SECRET
        )
        with pytest.raises(AworkError):
            async with billing_for(refused, redis):
                pass
    assert {r.levelno for r in caplog.records} >= {logging.DEBUG, logging.INFO, logging.WARNING}
    assert_no_secret(formatted.getvalue())
    for record in caplog.records:
        assert_no_secret(repr(record.__dict__))


def test_settings_never_show_their_secrets(prefix: str, rules_file: Path) -> None:
    settings: Settings = make_settings(
        prefix, rules_file, awork_api_token=API_SECRET, webhook_token=f"{WEBHOOK_SECRET},old"
    )
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
    ):
        assert_no_secret(text)
    assert settings.webhook_tokens() == [WEBHOOK_SECRET, "old"]  # still usable where needed
