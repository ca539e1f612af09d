"""Prometheus metrics of the web app, in a registry of its own (one per `create_app`)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, disable_created_metrics
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric

from service.contract.queue import QueueStats

PREFIX = "awork_billing"
# the *_created series only double the scrape size
disable_created_metrics()  # type: ignore[no-untyped-call]


class WebMetrics:
    """Counters of webhook outcomes and gauges of the queue, refreshed at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = LabelCounter(
            f"{PREFIX}_webhooks",
            "Webhook deliveries by event type and outcome.",
            ("event_type", "outcome"),
        )
        self.registry.register(self.webhooks)
        self.ready_jobs = self._gauge("queue_ready_jobs", "Flush jobs due and not yet started.")
        self.pending = self._gauge("queue_pending_entries", "Entries waiting for a flush.")
        self.oldest = self._gauge(
            "queue_oldest_ready_age_seconds", "How long the oldest due job has waited."
        )
        self.dead = self._gauge("dead_letters", "Changes that could not be applied (see CLI).")
        self.claimed = self._gauge("queue_claimed_entries", "Entries a running flush holds.")
        self.queued = self._gauge(
            "queue_queued_entries", "Entries pending or claimed: the work left (KEDA scales on it)."
        )

    def count_webhook(self, event_type: str, outcome: str) -> None:
        """`webhooks_total{event_type, outcome}` += 1."""
        self.webhooks.inc((event_type, outcome))

    def _gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(f"{PREFIX}_{name}", doc, registry=self.registry)

    def observe_queue(self, stats: QueueStats | None) -> None:
        """The queue as read at scrape time; None: Redis did not answer, so the gauges say NaN
        (unknown) rather than an old or a zero value that would read as healthy."""
        gauges = (self.ready_jobs, self.pending, self.oldest, self.dead, self.claimed, self.queued)
        if stats is None:
            for gauge in gauges:
                gauge.set(math.nan)
            return
        values = (
            stats.ready_jobs,
            stats.pending_entries,
            stats.oldest_ready_age_seconds,
            stats.dead_letters,
            stats.claimed_entries,
            stats.queued_entries,
        )
        for gauge, value in zip(gauges, values, strict=True):
            gauge.set(value)


class LabelCounter:
    """A counter with labels, counted in a plain dict and turned into a metric at scrape time.

    The hot route counts every webhook: `Counter.labels(...).inc()` takes a lock and a label
    lookup per call, this one dict update. Only the event loop's thread counts and scrapes.
    """

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, values: tuple[str, ...]) -> None:
        self.counts[values] = self.counts.get(values, 0) + 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, count in sorted(self.counts.items()):
            family.add_metric(values, count)
        yield family
