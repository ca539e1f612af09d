"""Changes of projects, tasks and companies: refresh the caches, re-evaluate affected entries.

A `project_updated` (or `task_updated`, `company_updated`, …) webhook drops the cached record at
once. When a rule reads a field of that kind — `project.*` for a project, `task.*` for a task,
`project.company.*` for a company — the entries of that project, task or company are read in
bulk pages and go through `Billing.apply`, like any queued entry (locks people set included):
a project moved to a retainer gets its entries billed.
"""

from __future__ import annotations

import logging

from service.contract.records import PendingRecord
from workers.apply.batch import Batch, Pending
from workers.apply.billing import Billing
from workers.awork import filterby
from workers.process import ProcessContext

log = logging.getLogger(__name__)

READS = {"project": "project.", "task": "task.", "company": "project.company."}
FIELDS = {"project": "projectId", "task": "taskId", "company": "project/companyId"}
"""The time-entry property (`filterby` path) that ties an entry to a project, task or company."""


def is_entity_key(key: str) -> bool:
    """Pending-hash fields of entity changes are `<kind>:<id>`; entry ids are bare GUIDs."""
    return ":" in key


async def refresh(
    process: ProcessContext, billing: Billing, records: dict[str, PendingRecord], batch: Batch
) -> None:
    """Invalidate the changed entities and re-apply the rules to their entries if they matter."""
    fields = billing.rules.fields()
    for key, record in sorted(records.items()):
        kind, entity_id = key.split(":", 1)
        await billing.workspace.invalidate(kind, entity_id)
        batch.count(f"{kind}_changed")
        if kind in FIELDS and any(f.startswith(READS[kind]) for f in fields):
            await _reevaluate(process, billing, kind, entity_id, record, batch)


async def _reevaluate(
    process: ProcessContext,
    billing: Billing,
    kind: str,
    entity_id: str,
    record: PendingRecord,
    batch: Batch,
) -> None:
    expression = filterby.eq_guid(FIELDS[kind], entity_id)
    count = 0
    async for page in process.awork.list_entries(expression):
        items = [Pending.read(e, record.event, record.by) for e in page if "id" in e]
        await billing.apply(items, batch)
        count += len(items)
    log.info("%s %s changed: %d entries re-evaluated", kind, entity_id, count)
