"""Prometheus metrics of the web app, in a registry of its own (one per `create_app`)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

from service.contract.queue import QueueStats

PREFIX = "awork_billing"
# the *_created series only double the scrape size
disable_created_metrics()  # type: ignore[no-untyped-call]


class WebMetrics:
    """Counters of webhook outcomes and gauges of the queue, refreshed at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            f"{PREFIX}_webhooks",
            "Webhook deliveries by event type and outcome.",
            ["event_type", "outcome"],
            registry=self.registry,
        )
        self.ready_jobs = self._gauge("queue_ready_jobs", "Flush jobs due and not yet started.")
        self.pending = self._gauge("queue_pending_entries", "Entries waiting for a flush.")
        self.oldest = self._gauge(
            "queue_oldest_ready_age_seconds", "How long the oldest due job has waited."
        )
        self.dead = self._gauge("dead_letters", "Changes that could not be applied (see CLI).")

        self._webhook_children: dict[tuple[str, str], Any] = {}

    def count_webhook(self, event_type: str, outcome: str) -> None:
        """`webhooks_total{event_type, outcome}` += 1 (children cached: this is the hot path)."""
        child = self._webhook_children.get((event_type, outcome))
        if child is None:
            child = self._webhook_children[(event_type, outcome)] = self.webhooks.labels(
                event_type, outcome
            )
        child.inc()

    def _gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(f"{PREFIX}_{name}", doc, registry=self.registry)

    def observe_queue(self, stats: QueueStats) -> None:
        self.ready_jobs.set(stats.ready_jobs)
        self.pending.set(stats.pending_entries)
        self.oldest.set(stats.oldest_ready_age_seconds)
        self.dead.set(stats.dead_letters)
