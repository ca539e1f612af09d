"""Figure 5: rules-engine cost, entries evaluated per CPU-second, 50 rules ÷ 1 trivial rule.

Both rule sets run through `workers.rules.evaluate` (what the worker calls) over the seeded
5,000 entries, alternated T F F T; CPU time of this one thread, so the figure is per core.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.sandbox import seed_workspace
from tests.bench.pipeline import ENTRIES, SEED
from tests.bench.report import Figure
from tests.bench.rulegen import fifty_rules
from workers.rules import RuleSet, evaluate, parse_rules

TRIVIAL = (
    "version: 1\nrules:\n  - name: everything\n    when: {}\n    then:\n      billable: true\n"
)
RULES_FILE = Path("var/bench/rules-50.yaml")
CPU_SECONDS = 0.8
"""Least CPU time per measurement."""
GOAL = 1 / 50
"""Proposed: 50 rules cost at most 50 times one rule (cost no worse than linear in the rules)."""


def entries_per_cpu_second(entries: Sequence[dict[str, Any]], rules: RuleSet) -> float:
    passes, started = 0, time.process_time()
    while (used := time.process_time() - started) < CPU_SECONDS or passes == 0:
        for entry in entries:
            evaluate(entry, rules)
        passes += 1
    return passes * len(entries) / used


def measure_engine() -> Figure:
    workspace = seed_workspace(entries=ENTRIES, seed=SEED)
    names = {str(t["name"]): str(t["id"]) for t in workspace.types_of_work.values()}
    RULES_FILE.parent.mkdir(parents=True, exist_ok=True)
    RULES_FILE.write_text(fifty_rules())
    fifty = parse_rules(RULES_FILE.read_text(), str(RULES_FILE)).resolve_types(names)
    trivial = parse_rules(TRIVIAL).resolve_types(names)
    entries = list(workspace.entries.values())
    runs = [entries_per_cpu_second(entries, r) for r in (trivial, fifty, fifty, trivial)]
    service, baseline = (runs[1] + runs[2]) / 2, (runs[0] + runs[3]) / 2
    ratio = service / baseline
    return Figure(
        "5 rules engine: entries evaluated per CPU-second",
        f"{service:,.0f}/s with {len(fifty.rules)} rules ({1e6 / service:.0f} µs per entry)",
        f"{baseline:,.0f}/s with 1 rule, `when: {{}}` ({1e6 / baseline:.1f} µs)",
        ratio,
        "≥ 1/50 (proposed: ≤ linear in rules)",
        ratio >= GOAL,
        f"{len(entries):,} seeded entries, T/F/F/T ≥ {CPU_SECONDS:g} CPU-s each; "
        f"rules in {RULES_FILE}: 48 narrow rules (eq/in/matches/startswith/gt/exists/any/not/"
        "ne/not_in/le/endswith) tried before 2 catch-alls",
    )
