"""Figures 2 and 3 from one burst: what it cost in awork calls, and how long it took.

`Burst` is what `pipeline.run_burst` measured; the figures set it against the naive consumer
(`naive`) and against the floor that awork's rate limits put under its calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.contract.settings import Settings
from service.sandbox import Faults
from tests.bench.report import Figure

if TYPE_CHECKING:  # naive -> pipeline -> burst at run time
    from tests.bench.naive import Naive

RATE_SHARE = Settings.model_fields["awork_rate_per_second"].default
"""The service's share of awork's 50 calls/s (AWORK_RATE_PER_SECOND)."""
CALLS_PER_EVENT = 0.012
"""Figure 2's goal (issue 14: what the burst cost before the leading edge, 0.0096, kept)."""


@dataclass(frozen=True)
class Burst:
    """What the burst cost and how long it took to converge."""

    rules: str
    """The rules file's name."""
    connections: int
    """Webhooks in flight at once while sending."""
    events: int
    entries_changed: int
    changes: int
    reads: int
    writes: int
    calls: int
    too_many: int
    ingest_seconds: float
    """First webhook sent → last one answered."""
    last_window_seconds: float
    """First webhook sent → the end of the coalescing window of the last one."""
    converge_seconds: float
    peak_per_second: int
    """The most awork calls within any one second."""
    echoes: int
    """Webhooks the sandbox delivered for the service's own writes (they cost no calls)."""
    cpu: dict[str, float]
    """CPU seconds per process from just before the burst until convergence."""

    @property
    def per_event(self) -> float:
        return self.calls / self.events


def _cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f} CPU-s" for name, seconds in cpu.items())


def floor_seconds(calls: int, per_second: int, per_minute: int) -> float:
    """The brief's floor: the calls at awork's sustained rates, max(calls/50 s, calls/1,000 min)."""
    return max(calls / per_second, calls * 60 / per_minute)


def burst_floor_seconds(calls: int, per_second: int, per_minute: int) -> float:
    """The least time `calls` can take under sliding windows that start empty: a whole minute's
    budget may go in its first seconds, at the per-second rate."""
    minutes, rest = divmod(calls, per_minute)
    return minutes * 60 + rest / per_second


def frugality_figure(burst: Burst, naive: Naive) -> Figure:
    """Figure 2: awork calls per event, the service's bulk calls against the naive consumer's."""
    ratio = burst.per_event / naive.per_event
    return Figure(
        "2 API frugality: awork calls per event",
        f"{burst.per_event:.4f}/event: {burst.calls} calls ({burst.reads} reads + "
        f"{burst.writes} writes) for {burst.events:,} events",
        f"{naive.per_event:.2f}/event: naive GET + write per event ({naive.calls:,} calls "
        f"for {naive.events:,} events)",
        ratio,
        f"≤ {CALLS_PER_EVENT:g} calls/event",
        burst.per_event <= CALLS_PER_EVENT,
        f"{burst.changes:,} changes on {burst.entries_changed:,} entries ({burst.rules}: "
        f"billable + type of work); the writes echoed back as {burst.echoes:,} webhooks, "
        f"which cost no call (counted); naive consumer on every {naive.sample_every}th event of "
        "the same burst, identically seeded sandbox, rate limit off"
        + ("" if naive.converged else "; NAIVE DID NOT CONVERGE"),
    )


def convergence_figure(burst: Burst, naive: Naive, window: float) -> Figure:
    """Figure 3: first webhook → rules' outcome, against the rate-limit floor of its calls."""
    limits = Faults()
    per_second, per_minute = limits.rate_per_second or 50, limits.rate_per_minute or 1000
    floor = floor_seconds(burst.calls, per_second, per_minute)
    burst_floor = burst_floor_seconds(burst.calls, per_second, per_minute)
    ratio = burst.converge_seconds / floor
    n = burst.calls
    tail = burst.converge_seconds - burst.last_window_seconds
    naive_minutes = naive.per_event * burst.events / per_minute
    return Figure(
        "3 convergence: first webhook → rules' outcome",
        f"{burst.converge_seconds:.1f} s, {burst.too_many} × 429",
        f"floor {floor:.1f} s = max({n}/{per_second} s, {n}/{per_minute:,} min)",
        ratio,
        "≤ 1.5 × floor, 0 × 429",
        ratio <= 1.5 and burst.too_many == 0,
        f"sending took {burst.ingest_seconds:.1f} s ({burst.connections} connections), the "
        f"last webhook's {window:g} s window closed at {burst.last_window_seconds:.1f} s, then "
        f"the flushes made their {n} calls in {tail:.1f} s (a few in flight at a time, the "
        f"fake's handling included; peak {burst.peak_per_second} calls/s of the "
        f"{RATE_SHARE:g}/s share; {_cpu_text(burst.cpu)}). "
        f"The floor counts 1,000/min as sustained: sliding windows let {n} calls go "
        f"in {burst_floor:.1f} s (ratio {burst.converge_seconds / burst_floor:.1f}). The naive "
        f"consumer would need ≥ {naive_minutes:.1f} min at {per_minute:,}/min",
    )
