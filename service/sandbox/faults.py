"""Misbehaviour on purpose: random 5xx, forced 429s, slow answers, and awork's real rate limit.

`Faults` is mutable while the sandbox runs (`state.faults.error_rate = 0.2`, or
`POST /_sandbox/faults {"error_rate": 0.2}`); random choices come from an RNG seeded with
`seed`, reseeded whenever `seed` is set through `update`.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    error_rate: float = 0.0
    """Fraction of API calls answered 500 or 503 (before the handler runs: nothing changes)."""
    force_429: int = 0
    """Answer the next N API calls with 429 (`ratelimit-reset: reset_seconds`)."""
    reset_seconds: int = 1
    slow_rate: float = 0.0
    """Fraction of API responses held back `slow_seconds` (after the handler ran: a client that
    times out has still made its change, as with a slow awork)."""
    slow_seconds: float = 0.0
    echo_webhooks: bool = True
    """Deliver the webhooks of every API write (`timetracking_added`, `_updated`,
    `_type_changed`, `_deleted`; see `envelopes`), like awork does. Off: API writes send none."""
    rate_per_second: int | None = 50
    """awork's limits per workspace (api-notes 3); None switches a window off."""
    rate_per_minute: int | None = 1000
    seed: int = 0
    rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.update({})
        self.rng = random.Random(self.seed)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update after checking names, types and ranges (`ValueError`)."""
        known = {f.name: f for f in fields(self) if f.name != "rng"}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"Unknown fault setting(s): {', '.join(unknown)}.")
        merged = {name: changes.get(name, getattr(self, name)) for name in known}
        for name, value in merged.items():
            _check(name, value)
        for name, value in changes.items():
            setattr(self, name, value)
        if "seed" in changes:
            self.rng = random.Random(self.seed)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rng"}

    def take_forced_429(self) -> bool:
        if self.force_429 > 0:
            self.force_429 -= 1
            return True
        return False

    def roll_error(self) -> int | None:
        """500 or 503 for a fraction `error_rate` of calls, else None."""
        if self.error_rate and self.rng.random() < self.error_rate:
            return self.rng.choice((500, 503))
        return None

    def roll_delay(self) -> float:
        if self.slow_rate and self.rng.random() < self.slow_rate:
            return self.slow_seconds
        return 0.0


def _check(name: str, value: Any) -> None:
    rates = ("error_rate", "slow_rate")
    if name in rates and not (_is_number(value) and 0 <= value <= 1):
        raise ValueError(f"{name} must be a number from 0 to 1.")
    if name in ("slow_seconds",) and not (_is_number(value) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0.")
    if name in ("force_429", "reset_seconds", "seed") and not (_is_int(value) and value >= 0):
        raise ValueError(f"{name} must be an integer >= 0.")
    if name.startswith("rate_per_") and not (value is None or (_is_int(value) and value > 0)):
        raise ValueError(f"{name} must be a positive integer or null.")
    if name == "echo_webhooks" and not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer for one call, with the headers awork sends (api-notes 3)."""

    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    """awork's per-second and per-minute limits as sliding windows over admitted calls.

    A refused call does not count (Kong, whose header names awork sends, checks before it
    counts). Sliding rather than clock-aligned windows keep tests deterministic: a burst of
    N + k calls within a second always sees exactly k refusals.
    """

    def __init__(self) -> None:
        self._second: deque[float] = deque()
        self._minute: deque[float] = deque()

    def admit(self, faults: Faults, now: float | None = None) -> Verdict:
        now = time.monotonic() if now is None else now
        windows = [
            ("second", 1.0, faults.rate_per_second, self._second),
            ("minute", 60.0, faults.rate_per_minute, self._minute),
        ]
        for _, span, _, calls in windows:
            while calls and calls[0] <= now - span:
                calls.popleft()
        allowed = all(limit is None or len(calls) < limit for _, _, limit, calls in windows)
        if allowed:
            for _, _, _, calls in windows:
                calls.append(now)
        headers: dict[str, str] = {}
        states = []  # (remaining, -reset, limit, reset): the window that binds sorts first
        for name, span, limit, calls in windows:
            if limit is None:
                continue
            remaining = max(limit - len(calls), 0)
            reset = max(1, math.ceil(calls[0] + span - now)) if calls else 1
            headers[f"x-ratelimit-limit-{name}"] = str(limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(remaining)
            states.append((remaining, -reset, limit, reset))
        if states:
            remaining, _, limit, reset = min(states)
            headers["ratelimit-limit"] = str(limit)
            headers["ratelimit-remaining"] = str(remaining)
            headers["ratelimit-reset"] = str(reset)
        return Verdict(allowed, headers)

    def forced(self, faults: Faults) -> dict[str, str]:
        """Headers of a forced 429: nothing left, reset after `reset_seconds`."""
        limit = faults.rate_per_second or 50
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(faults.reset_seconds),
            "x-ratelimit-limit-second": str(limit),
            "x-ratelimit-remaining-second": "0",
            "x-ratelimit-limit-minute": str(faults.rate_per_minute or 1000),
            "x-ratelimit-remaining-minute": "0",
        }
