"""Changes of projects, tasks and companies: refresh the caches, re-evaluate affected entries.

A `project_updated` (or `task_updated`, `company_updated`, …) webhook drops the cached record at
once. When a rule reads a field of that kind — `project.*` for a project, `task.*` for a task,
`project.company.*` for a company — the entries of that project, task or company are read in
bulk pages and the rules applied to them: a project moved to a retainer gets its entries billed.
"""

from __future__ import annotations

import logging
from typing import Any

from service.queue import PendingRecord
from workers.apply import Batch, apply_changes, entry_version
from workers.context import WorkerApp

log = logging.getLogger(__name__)

READS = {"project": "project.", "task": "task.", "company": "project.company."}
FILTERS = {
    "project": "projectId eq guid'{id}'",
    "task": "taskId eq guid'{id}'",
    "company": "project/companyId eq guid'{id}'",
}


def is_entity_key(key: str) -> bool:
    """Pending-hash fields of entity changes are `<kind>:<id>`; entry ids are bare GUIDs."""
    return ":" in key


async def refresh(app: WorkerApp, records: dict[str, PendingRecord], batch: Batch) -> None:
    """Invalidate the changed entities and re-apply the rules to their entries if they matter."""
    fields = app.rules.fields()
    for key, record in sorted(records.items()):
        kind, entity_id = key.split(":", 1)
        await app.lookups.invalidate(kind, entity_id)
        batch.count(f"{kind}_changed")
        if kind in FILTERS and any(f.startswith(READS[kind]) for f in fields):
            await _reevaluate(app, kind, entity_id, record, batch)


async def _reevaluate(
    app: WorkerApp, kind: str, entity_id: str, record: PendingRecord, batch: Batch
) -> None:
    filterby = FILTERS[kind].format(id=entity_id)
    count = 0
    async for page in app.client.list_entries(filterby):
        entries: list[dict[str, Any]] = [e for e in page if isinstance(e, dict) and "id" in e]
        fresh = [(e, PendingRecord(version=entry_version(e), event=record.event, by=record.by))
                 for e in entries]  # fmt: skip
        await apply_changes(app, fresh, batch)
        count += len(entries)
    log.info("%s %s changed: %d entries re-evaluated", kind, entity_id, count)
