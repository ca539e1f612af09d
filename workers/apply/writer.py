"""Turning decided changes into the fewest awork calls, each recorded.

Changes are grouped by (attribute, value) — awork's bulk operations set one attribute to one value
for many entries — and sent in chunks of `AWORK_BULK_CHUNK_SIZE` ids, several calls in flight:
`billable` and the type of work first, `billed` after them (awork clears `isBilled` on an entry
made unbillable; the type of work is independent of both). A write fence skips what another
writer already made or is making for the same version. Every write awork confirms is fenced and
audited; what awork refuses goes to the dead letters with its reason; `DRY_RUN` audits the
would-be changes and calls nothing. Past the batch's deadline no further call starts.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence

from workers.apply.batch import Batch, Write
from workers.apply.fences import Claim, Fences
from workers.apply.recorder import Recorder, letter
from workers.awork.client import AworkClient, BatchResult
from workers.awork.concurrency import gather_limited
from workers.awork.errors import AworkRejected

ORDER = {"billable": 0, "billed": 1, "type_of_work": 2}
PHASES = (("billable", "type_of_work"), ("billed",))


class Writer:
    """Bulk writes of decided changes (module docstring)."""

    def __init__(
        self,
        awork: AworkClient,
        fences: Fences,
        recorder: Recorder,
        *,
        chunk_size: int,
        dry_run: bool,
    ) -> None:
        self._awork = awork
        self._fences = fences
        self._recorder = recorder
        self._chunk_size = chunk_size
        self._dry_run = dry_run

    async def write(self, writes: Sequence[Write], batch: Batch) -> None:
        """One bulk call per (attribute, value) chunk, phase by phase."""
        groups: dict[tuple[str, bool | str], list[Write]] = defaultdict(list)
        for write in writes:
            groups[(write.change.attribute, write.change.new)].append(write)
        ordered = sorted(groups.items(), key=_order)
        size = self._chunk_size
        for phase in PHASES:
            parts = [
                group[i : i + size]
                for (attribute, _), group in ordered
                if attribute in phase
                for i in range(0, len(group), size)
            ]
            await gather_limited(functools.partial(self._write, part, batch) for part in parts)

    async def _write(self, writes: Sequence[Write], batch: Batch) -> None:
        if self._dry_run:
            await self._recorder.audited(writes, "dry_run", batch)
            return
        batch.check_time()
        claim = await self._fences.claim(writes, batch.job_id)
        todo = claim.writes
        if len(todo) < len(writes):
            batch.count("already_written", len(writes) - len(todo))
        if not todo:
            return
        first = todo[0].change
        try:
            result = await self._awork.set_attribute(
                first.attribute, first.new, [w.entry_id for w in todo]
            )
        except AworkRejected as e:
            await self._fences.release(claim, todo)
            letters = [letter(w, "rejected", str(e), e.status, e.trace_id) for w in todo]
            await self._recorder.dead_lettered(letters)
            batch.count("rejected", len(todo))
            return
        except BaseException:  # not made (as far as we know): another writer may make it
            await self._fences.release(claim, todo)
            raise
        await self._record(claim, result, batch)

    async def _record(self, claim: Claim, result: BatchResult, batch: Batch) -> None:
        by_id = {w.entry_id: w for w in claim.writes}
        ok = [by_id[i] for i in result.ok if i in by_id]
        gone = [by_id[i] for i in result.not_found if i in by_id]
        await self._fences.written(claim, ok)
        await self._fences.release(claim, [w for w in claim.writes if w not in ok])
        await self._recorder.audited(ok, "applied", batch)
        await self._recorder.audited(gone, "not_found", batch)
        refused = [(i, "unauthorized", "permission denied") for i in result.unauthorized]
        refused += [(i, "bad_request", "bad request") for i in result.bad_request]
        letters = [
            letter(by_id[i], reason, f"awork: {why}") for i, reason, why in refused if i in by_id
        ]
        await self._recorder.dead_lettered(letters)


def _order(item: tuple[tuple[str, bool | str], list[Write]]) -> tuple[int, str]:
    (attribute, value), _ = item
    return ORDER[attribute], str(value)
