"""The baseline of figure 2: a naive consumer, as a generic automation tool is built.

For each webhook: `GET /timeentries/{id}`, apply the rules, and write — one single-id write per
attribute to change, and one (of the current billable flag) when nothing changes, because such a
tool runs its "update time entry" step on every event. So an event costs at least two calls.

It runs against its own sandbox seeded exactly like the burst's, with the rate limit switched
off: at awork's 1,000 calls/min its ~10,000 calls for 5,000 events would take over 10 minutes.
It handles every `SAMPLE_EVERY`-th event of the burst; its cost per event does not depend on
how many there are (it shares no work between events), and the sample keeps the bench short.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx

from service.sandbox import Faults, create_sandbox, running, seed_workspace
from tests.bench.pipeline import ENTRIES, SEED, WRITE_TEMPLATE
from tests.support.config import SANDBOX_TOKEN
from tests.support.pipeline import resolved_rules
from workers.awork.client import BATCH_OPERATIONS
from workers.rules import RuleSet, plan

SAMPLE_EVERY = 5
CONCURRENCY = 16


@dataclass(frozen=True)
class Naive:
    events: int
    reads: int
    writes: int
    calls: int
    converged: bool
    sample_every: int

    @property
    def per_event(self) -> float:
        return self.calls / self.events


async def measure_naive(rules_file: Path) -> Naive:
    """Run the naive consumer over the sampled events; count the calls the sandbox answered."""
    workspace = seed_workspace(entries=ENTRIES, seed=SEED)
    faults = Faults(rate_per_second=None, rate_per_minute=None, echo_webhooks=False)
    app = create_sandbox(workspace, faults=faults)
    sandbox = app.state.sandbox
    rules = resolved_rules(str(rules_file), sandbox)
    ids = list(workspace.entries)[::SAMPLE_EVERY]
    slots = asyncio.Semaphore(CONCURRENCY)
    async with (
        running(app) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
        ) as client,
    ):

        async def on_event(entry_id: str) -> None:
            async with slots:
                await handle(client, rules, entry_id)

        await asyncio.gather(*(on_event(i) for i in ids))
    return Naive(
        events=len(ids),
        reads=sandbox.count("GET", "/timeentries/{id}"),
        writes=sandbox.count("POST", WRITE_TEMPLATE),
        calls=len(sandbox.calls),
        converged=not any(plan(workspace.entries[i], rules) for i in ids),
        sample_every=SAMPLE_EVERY,
    )


async def handle(client: httpx.AsyncClient, rules: RuleSet, entry_id: str) -> None:
    """One webhook, the naive way: read the entry, then write, one call per attribute."""
    response = await client.get(f"/timeentries/{entry_id}")
    response.raise_for_status()
    entry = response.json()
    writes = [(c.attribute, c.new) for c in plan(entry, rules)]
    for attribute, value in writes or [("billable", bool(entry.get("isBillable")))]:
        operation, field = BATCH_OPERATIONS[attribute]
        body = {"timeEntryIds": [entry_id], field: value}
        (await client.post(f"/timeentries/batch/{operation}", json=body)).raise_for_status()
