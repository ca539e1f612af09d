"""The month-end close (issue 12): check a client's period, bill exactly those entries through
the workers' bulk, rate-limited, audited write path, export them, keep the record, watch them.

    preview    read a period, the rules decide, triage, price, keep the snapshot
    commit     bill exactly the snapshot's unchanged entries; files; the record; resumable
    reopen     un-bill a close's entries (admin key), lift the guard
    drift      closed entries changed or deleted since
    scope      what a close covers: company or projects, a period of local dates
    triage     which entries a close bills, and the anomalies it holds back (pure)
    lines      one entry as invoiced (a CSV row); totals: sums per group and user
    snapshot   `<prefix>:close:snapshot:<id>`; record: `<prefix>:close:record:<REF>`
    reading    bulk reads and re-reads; writes: the workers' writer, remembering refusals
    export     DIR/REF-entries.csv, DIR/REF-summary.csv, DIR/REF.json
    errors     `CloseError` and its tree

A layer above `workers.apply` (it uses `Billing`, the writer, the guard's store) and below the
CLI, beside `workers.jobs`. Prices come from `workers.rates` and never reach awork.
"""

from workers.close.commit import Commit, check_reference, commit
from workers.close.drift import Drift, drift, measure
from workers.close.errors import CloseBusy, CloseError, CloseRefused
from workers.close.preview import PreviewRequest, preview
from workers.close.record import CloseRecord, Records
from workers.close.reopen import Reopen, reopen
from workers.close.scope import Period, Scope, Selection
from workers.close.snapshot import Snapshot, Snapshots

__all__ = [
    "CloseBusy",
    "CloseError",
    "CloseRecord",
    "CloseRefused",
    "Commit",
    "Drift",
    "Period",
    "PreviewRequest",
    "Records",
    "Reopen",
    "Scope",
    "Selection",
    "Snapshot",
    "Snapshots",
    "check_reference",
    "commit",
    "drift",
    "measure",
    "preview",
    "reopen",
]
