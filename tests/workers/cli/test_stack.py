"""The local stack (`make demo`, `make run`): awork's webhook is registered exactly as
`awork-billing webhook register` would register it, with the configured header."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from service.contract.webhooks import EVENTS
from service.sandbox import envelope, seed_workspace
from tests.support.config import WEBHOOK_TOKEN, make_settings
from workers.cli.stack import local_stack


async def test_the_demo_registers_the_webhook_with_the_configured_header(
    prefix: str, rules_file: Path, redis: Redis
) -> None:
    settings = make_settings(prefix, rules_file, webhook_token_header="X-Billing-Secret")
    async with local_stack(settings, seed_workspace(entries=3, seed=1)) as stack:
        (hook,) = stack.sandbox.hooks.values()
        assert hook.headers == {"X-Billing-Secret": WEBHOOK_TOKEN}
        assert hook.config["events"].split(",") == list(EVENTS)
        entry = next(iter(stack.sandbox.workspace.entries.values()))
        person = stack.sandbox.workspace.person(next(iter(stack.sandbox.workspace.users)))
        report = await stack.sandbox.deliver(
            [envelope("timetracking_updated", entry, triggered_by=person, changes=None)]
        )
    assert report.statuses == {202: 1}
