"""Changes of projects, tasks and companies: refresh the caches, re-evaluate affected entries.

A `project_updated` (or `task_updated`, `company_updated`, …) webhook drops the cached record at
once (a project's retainers with it). When a rule reads a field of that kind — `project.*` for a
project, `task.*` for a task, `project.company.*` for a company, and `budget.*` for a project,
whose budgets may have changed — every entry of that project, task or company is read and goes
through `Billing.apply`, like any queued entry (locks people set included): a project moved to a
retainer gets its entries billed.

- A project read in one page (up to 1000 entries) is complete: its budgets need no further
  read, so a 1,000-entry retainer project costs three reads (its entries, the project, its
  retainers). Pages stop at awork's total (`aw-totalitems`), not at an empty page.

- Pages in an order the service's own writes cannot change (start, then id), so fixing the
  entries of one page never moves others past the next (offset paging by `updatedOn` did: every
  fixed entry moved to the end and later pages skipped as many).
- Within the flush's time: out of time, the change goes back to the queue with the page to go
  on at; a newer change of the same project starts over.
- A change only the service's own API user made is an echo, and skipped.
- A listing awork refuses for good dead-letters the change (`rejected`; replay re-runs it).
"""

from __future__ import annotations

import logging

from service.contract.records import IngestItem, PendingRecord
from workers.apply import budgets
from workers.apply.batch import Batch, OutOfTime, Pending
from workers.apply.billing import Billing
from workers.apply.deadletters import DeadLetter
from workers.awork import filterby
from workers.awork.client import EntryPage
from workers.awork.errors import AworkRejected
from workers.process import ProcessContext

log = logging.getLogger(__name__)

READS = {"project": "project.", "task": "task.", "company": "project.company."}
FIELDS = {"project": "projectId", "task": "taskId", "company": "project/companyId"}
"""The time-entry property (`filterby` path) that ties an entry to a project, task or company."""
PAGE_SIZE = 1000


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
        if record.by and all(b == billing.me for b in record.by):
            batch.count("echo")
            continue
        batch.count(f"{kind}_changed")
        budgeted = kind == "project" and budgets.wanted(billing.rules)
        if kind in FIELDS and (budgeted or any(f.startswith(READS[kind]) for f in fields)):
            await _reevaluate(process, billing, key, record, batch)


async def _reevaluate(
    process: ProcessContext, billing: Billing, key: str, record: PendingRecord, batch: Batch
) -> None:
    kind, entity_id = key.split(":", 1)
    expression = filterby.eq_guid(FIELDS[kind], entity_id)
    page, count = max(record.page, 1), 0
    try:
        while True:
            batch.check_time()
            listing = await process.awork.entries_page(expression, page, page_size=PAGE_SIZE)
            items = [Pending.read(e, record.event, record.by) for e in listing.items if "id" in e]
            last = _last(listing)
            whole = kind == "project" and page == 1 and last  # every entry of the project
            await billing.apply(items, batch, complete=[entity_id] if whole else [])
            count += len(items)
            if last:
                break
            page += 1
    except OutOfTime:
        await _hand_back(process, key, record, page, batch)
    except AworkRejected as e:
        letter = DeadLetter(key, "rejected", str(e), status=e.status, trace_id=e.trace_id or "")
        await billing.records.dead_lettered([letter])
        return
    log.info("%s %s changed: %d entries re-evaluated", kind, entity_id, count)


def _last(listing: EntryPage) -> bool:
    if len(listing.items) < PAGE_SIZE:
        return True
    return listing.total is not None and listing.total <= listing.page * PAGE_SIZE


async def _hand_back(
    process: ProcessContext, key: str, record: PendingRecord, page: int, batch: Batch
) -> None:
    """Out of time: the change goes back to the queue, to go on at `page`."""
    later = PendingRecord(
        version=record.version,
        event=record.event,
        by=record.by,
        first_seen_ms=record.first_seen_ms,
        page=page,
    )
    await process.queue.add([IngestItem(key, later)])
    batch.count("entity_handed_back")
