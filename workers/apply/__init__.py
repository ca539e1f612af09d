"""Applying the rules: entries -> decisions -> bulk writes, and the records of what was done.

billing      `Billing`: the one path from entries to written changes (and `evaluate`)
assessment   the rules' verdicts on a scope: each budget's entries in order, the rest singly
budgets      which budgets a batch touches, and their entries read in bulk (`Scope`)
budgetdata   projects' budgets and retainers' months, read on demand and cached
budgetrecords  memberships, each budget's use, thresholds passed, the budget gauge
writer       grouped, chunked bulk writes, fenced and recorded
recorder     the audit log and the dead letters, with their metrics and log lines
batch        `Pending` (an entry in hand), `Write` (a change with its version and
             trigger), `Batch` (outcomes counted)
audit        the audit stream
deadletters  changes that could not be made, for an operator
fences       each change written once per entry version
guard        closed entries (month-end close): never changed by the rules, changes recorded
locks        attributes people set by hand (`respect_manual_changes`)
versions     the newest version read of each entry
workspace    projects, tasks, companies the rules read, cached
"""

from workers.apply.audit import AuditEntry, AuditLog
from workers.apply.batch import Batch, Pending, Write, entry_version
from workers.apply.billing import Billing, resolve_types
from workers.apply.deadletters import DeadLetter, DeadLetters
from workers.apply.fences import Fences
from workers.apply.guard import ClosedEntries, Guard
from workers.apply.locks import ManualLocks
from workers.apply.recorder import Recorder
from workers.apply.versions import VersionFloors
from workers.apply.workspace import Workspace

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Batch",
    "Billing",
    "ClosedEntries",
    "DeadLetter",
    "DeadLetters",
    "Fences",
    "Guard",
    "ManualLocks",
    "Pending",
    "Recorder",
    "VersionFloors",
    "Workspace",
    "Write",
    "entry_version",
    "resolve_types",
]
