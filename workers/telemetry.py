"""Prometheus metrics of a worker process (served on `WORKER_METRICS_PORT`) and JSON logging."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

PREFIX = "awork_billing"
# the *_created series only double the scrape size
disable_created_metrics()  # type: ignore[no-untyped-call]


class WorkerMetrics:
    """Counters of jobs, awork calls, rate limiting and applied changes, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.jobs = Counter(
            f"{PREFIX}_jobs", "Jobs by function and outcome.", ["function", "outcome"], registry=r
        )
        self.awork_calls = Counter(
            f"{PREFIX}_awork_calls",
            "awork API calls by operation and HTTP status.",
            ["operation", "status"],
            registry=r,
        )
        self.rate_limited = Counter(
            f"{PREFIX}_awork_rate_limited", "429 answers from awork.", registry=r
        )
        self.rate_limit_wait = Counter(
            f"{PREFIX}_rate_limit_wait_seconds",
            "Time spent waiting for the shared rate limit.",
            registry=r,
        )
        self.changes = Counter(
            f"{PREFIX}_changes",
            "Attribute changes applied, by rule.",
            ["rule", "attribute"],
            registry=r,
        )
        self.entries = Counter(
            f"{PREFIX}_entries", "Queued entries by what the flush did.", ["outcome"], registry=r
        )
        self.dead_letters = Counter(
            f"{PREFIX}_dead_letters_added", "Changes dead-lettered.", ["reason"], registry=r
        )
        self.reconcile_entries = Counter(
            f"{PREFIX}_reconcile_entries",
            "Entries the reconciliation sweep read, by outcome (changed: a webhook was missed).",
            ["outcome"],
            registry=r,
        )
        self.webhook_active = Gauge(
            f"{PREFIX}_webhook_active",
            "1 when awork's webhook is active, 0 when paused.",
            registry=r,
        )
        self.redis_used_memory = Gauge(
            f"{PREFIX}_redis_used_memory_bytes",
            "Memory Redis uses (INFO memory used_memory), read by the sweep every 5 s.",
            registry=r,
        )
        self.redis_max_memory = Gauge(
            f"{PREFIX}_redis_maxmemory_bytes",
            "Redis' maxmemory (0: no limit); past it a noeviction Redis refuses every write.",
            registry=r,
        )
        self.closed_entry_changes = Counter(
            f"{PREFIX}_closed_entry_changes",
            "Changes to entries of a month-end close, by what changed (or deleted).",
            ["change"],
            registry=r,
        )

        self.budget_used = Gauge(
            f"{PREFIX}_budget_used_percent",
            "Budget use per project: its own budget's, or its current retainer period's "
            "(counted seconds / budget seconds * 100).",
            ["project", "kind"],
            registry=r,
        )
        self.budget_thresholds = Counter(
            f"{PREFIX}_budget_thresholds_passed",
            "Budgets passing 50, 75, 90 or 100 % of their seconds.",
            ["threshold"],
            registry=r,
        )

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent): for tests and the demo's summary."""
        return self.registry.get_sample_value(name, labels) or 0.0


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the identifiers bound through `extra=` (entry_id, job_id…)."""

    FIELDS = ("entry_id", "event", "job_id", "rule", "trace_id", "attribute")

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(data).decode()


def configure_logging(level: str, fmt: str) -> None:
    """Root logging for a process: text for people, JSON for Kubernetes (`LOG_FORMAT=json`)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
