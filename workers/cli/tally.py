"""What a backfill has done, counted: entries and pages read, changes by rule and attribute,
write outcomes, dead letters by reason, awork calls by operation.

Changes, dead letters and calls come from the run's own `WorkerMetrics` (a fresh registry per
run; `Billing.apply` and the awork client count there anyway); entries, pages and write outcomes
from each page's `Batch`. A `Tally` adds up (`+`) and round-trips through JSON, so a resumed
backfill reports the whole job, not only its last leg.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter as Metric

from workers.telemetry import WorkerMetrics

WRITE_OUTCOMES = ("applied", "dry_run", "not_found", "rejected", "manual_kept")
"""`Batch` counts that are about changes (the others, `changed`/`unchanged`, count entries)."""


@dataclass
class Tally:
    entries: int = 0
    pages: int = 0
    changed_entries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    changes: Counter[str] = field(default_factory=Counter)
    """By `rule:attribute` (rule names have no colon)."""
    dead_letters: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)

    def count_page(self, entries: int, counts: Mapping[str, int]) -> None:
        """One page done: its entries, and how many of them needed a change."""
        self.entries += entries
        self.pages += 1
        self.changed_entries += counts.get("changed", 0)

    def count_writes(self, counts: Mapping[str, int]) -> None:
        """The write outcomes of one attempt at a page (made even if the attempt failed)."""
        self.outcomes.update({k: n for k, n in counts.items() if k in WRITE_OUTCOMES and n})

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.entries + other.entries,
            self.pages + other.pages,
            self.changed_entries + other.changed_entries,
            self.outcomes + other.outcomes,
            self.changes + other.changes,
            self.dead_letters + other.dead_letters,
            self.calls + other.calls,
        )

    @classmethod
    def from_metrics(cls, metrics: WorkerMetrics) -> Tally:
        """Changes, dead letters and awork calls counted in `metrics`."""
        return cls(
            changes=_counts(
                metrics.changes, lambda labels: f"{labels['rule']}:{labels['attribute']}"
            ),
            dead_letters=_counts(metrics.dead_letters, lambda labels: labels["reason"]),
            calls=_counts(metrics.awork_calls, lambda labels: labels["operation"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "pages": self.pages,
            "changed_entries": self.changed_entries,
            "outcomes": dict(sorted(self.outcomes.items())),
            "changes": dict(sorted(self.changes.items())),
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "calls": dict(sorted(self.calls.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        def counter(name: str) -> Counter[str]:
            return Counter({str(k): int(v) for k, v in (data.get(name) or {}).items()})

        return cls(
            int(data.get("entries", 0)),
            int(data.get("pages", 0)),
            int(data.get("changed_entries", 0)),
            counter("outcomes"),
            counter("changes"),
            counter("dead_letters"),
            counter("calls"),
        )


def _counts(metric: Metric, key: Callable[[dict[str, str]], str]) -> Counter[str]:
    """A labelled counter's `_total` samples, summed by `key(labels)`."""
    found: Counter[str] = Counter()
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.value:
                found[key(sample.labels)] += int(sample.value)
    return found
