"""What a close of 5,000 entries costs in awork calls: about 5000/1000 reads per pass plus
5000/chunk writes — not thousands (the sandbox counts every call)."""

from __future__ import annotations

import math
from pathlib import Path

from redis.asyncio import Redis

from service.sandbox import create_sandbox, running, seed_workspace
from tests.support.closes import start_at
from tests.support.config import make_settings
from tests.support.worker import billing_for
from workers.close import Period, PreviewRequest, Scope, Selection, commit, preview

ENTRIES = 5000


async def test_a_close_of_5000_entries_costs_tens_of_calls(
    prefix: str, tmp_path: Path, redis: Redis
) -> None:
    workspace = seed_workspace(entries=ENTRIES, seed=1)
    project = next(p for p in workspace.projects.values() if p["name"] == "Nordlicht Webshop")
    nested = next(
        e["project"] for e in workspace.entries.values() if e.get("projectId") == project["id"]
    )
    for n, entry in enumerate(workspace.entries.values()):  # all of them billable in October
        day = f"2026-10-{1 + n % 28:02d}"
        start_at(entry, day, "10:00:00", day, "08:00:00")
        entry.update(projectId=project["id"], project=nested, taskId=None, task=None)
        entry.update(isBillable=True, isBilled=False, note=entry.get("note") or "Work")
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules: []\n")
    sandbox = create_sandbox(workspace)
    state = sandbox.state.sandbox
    async with running(sandbox) as url:
        settings = make_settings(prefix, rules, awork_api_url=url)
        async with billing_for(settings, redis) as billing:
            state.reset_calls()
            selection = Selection(Scope.company("Nordlicht Brauerei GmbH"), Period.month("2026-10"))
            snapshot = await preview(billing, PreviewRequest(selection))
            preview_reads = state.count("GET", "/timeentries")
            result = await commit(billing.process, snapshot.close_id, "BIG", tmp_path, "tester")
    reads = state.count("GET", "/timeentries")
    writes = state.count("POST", "/timeentries/batch/{operation}")
    chunk = settings.awork_bulk_chunk_size
    print(
        f"\n5,000-entry close: preview {preview_reads} reads; commit {reads - preview_reads} "
        f"reads + {writes} writes; all calls {len(state.calls)}"
    )
    assert len(result.record.entries) == ENTRIES
    assert all(e["isBilled"] for e in workspace.entries.values())
    assert preview_reads == math.ceil(ENTRIES / 1000)
    assert reads == 3 * math.ceil(ENTRIES / 1000)  # preview, the check, the read-back
    assert writes == math.ceil(ENTRIES / chunk)
    assert len(state.calls) <= reads + writes + 2  # + GET /me (+ /typeofwork)
