"""How a close reads awork: in bulk, within the shared rate limit, each call retried patiently
(`workers.awork.retry`) — a month-end close is an operator waiting, not a job to re-queue.

- `read_selection`: every entry of a selection's `filterby`, 1000 a page (awork's largest),
  ordered by start and id, so a 5,000-entry month costs five reads;
- `reread`: the current state of given entries — the selection's pages again, then by id
  (`id in (…)`, `AWORK_READ_CHUNK_SIZE` a call) those no longer found there: deleted ones, or
  moved out of the period or scope. Entries awork does not return are absent.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from workers.awork.client import EntryPage
from workers.awork.retry import POLICY
from workers.close.scope import Selection
from workers.process import ProcessContext

PAGE_SIZE = 1000


async def read_selection(process: ProcessContext, selection: Selection) -> list[dict[str, Any]]:
    """Every entry awork returns for `selection.filterby()` (not yet filtered locally)."""
    entries: list[dict[str, Any]] = []
    page = 1
    while True:
        chunk = await _page(process, selection.filterby(), page)
        entries += [e for e in chunk.items if e.get("id")]
        done = chunk.total is not None and chunk.total <= page * PAGE_SIZE
        if len(chunk.items) < PAGE_SIZE or done:
            return entries
        page += 1


async def reread(
    process: ProcessContext, selection: Selection, entry_ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    """The current state of `entry_ids` (lower-case ids), as described above."""
    wanted = {i.lower() for i in entry_ids}
    if not wanted:
        return {}
    found = {
        key: entry
        for entry in await read_selection(process, selection)
        if (key := str(entry["id"]).lower()) in wanted
    }
    missing = sorted(wanted - found.keys())
    size = process.settings.awork_read_chunk_size
    for start in range(0, len(missing), size):
        step = functools.partial(process.awork.entries_by_id, missing[start : start + size])
        chunk = await POLICY.patiently(step, process.settings.awork_max_attempts)
        found.update({key.lower(): entry for key, entry in chunk.items()})
    return found


async def _page(process: ProcessContext, expression: str, page: int) -> EntryPage:
    awork = process.awork
    step = functools.partial(awork.entries_page, expression, page, page_size=PAGE_SIZE)
    return await POLICY.patiently(step, process.settings.awork_max_attempts)
