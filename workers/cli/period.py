"""A period of past time entries for `simulate` and `backfill`, and its `filterby`.

A period is a range of days in UTC, matched on `startDateUtc` (awork stores the day an entry
starts, in UTC, at midnight): `startDateUtc ge datetime'<from>T00:00:00' and startDateUtc le
datetime'<to>T23:59:59'`, optionally `and projectId eq guid'…'` (api-notes 2.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workers.awork import filterby


@dataclass(frozen=True)
class Period:
    """The entries starting on days `start` to `end` (UTC, both included), of one project or all."""

    start: date
    end: date
    project: str | None = None

    def filterby(self) -> str:
        """awork's `filterby` for this period."""
        return filterby.both(
            filterby.ge("startDateUtc", filterby.day_start(self.start)),
            filterby.le("startDateUtc", filterby.day_end(self.end)),
            filterby.eq_guid("projectId", self.project) if self.project else "",
        )

    def describe(self) -> str:
        """`2026-10-01..2026-10-31, project 1f0c…` for summaries."""
        scope = f"project {self.project}" if self.project else "all projects"
        return f"{self.start.isoformat()}..{self.end.isoformat()}, {scope}"
