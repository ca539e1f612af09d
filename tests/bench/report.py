"""The one table `make bench` prints, and `var/bench/results.md` with the machine it ran on.

Every row is a ratio against a baseline measured in the same run (stack-notes 11-12: absolute
figures scatter by 10-15 % between runs of the same code on this kind of VM; ratios travel).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path("var/bench/results.md")
COLUMNS = ("figure", "service", "baseline", "ratio", "goal", "met?", "note")


@dataclass(frozen=True)
class Figure:
    """One row: what the service did, the baseline of the same run, and their ratio."""

    name: str
    service: str
    baseline: str
    ratio: float
    goal: str
    met: bool
    """Whether the goal is met (a goal the brief did not set says "proposed")."""
    note: str


def table(figures: list[Figure]) -> str:
    """The figures as one markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for f in figures:
        met = "yes" if f.met else "**no**"
        cells = (f.name, f.service, f.baseline, f"{f.ratio:.3g}", f.goal, met, f.note)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def machine(extra: dict[str, str]) -> dict[str, str]:
    """What the figures depend on: cores, CPU model, Python, date, plus `extra` (Redis, tools)."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": f"{len(os.sched_getaffinity(0))} (nproc)",
        "cpu": cpu_model(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **extra,
    }


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    models = [
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")
    ]
    return models[0] if models else "unknown"


def wrk_version() -> str | None:
    """wrk's version line, or None when wrk is not installed."""
    path = shutil.which("wrk")
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0].split(" Copyright")[0] if text else path


def render(figures: list[Figure], about: dict[str, str]) -> str:
    """The results document: machine lines, then the table."""
    head = ["# awork-billing benchmarks (`make bench`)", ""]
    head += [f"- **{k}**: {v}" for k, v in about.items()]
    return "\n".join([*head, "", table(figures), ""])


def write(document: str, path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document)
    return path
