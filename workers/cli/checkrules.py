"""`awork-billing check-rules FILE`: validate a rules file (exit 2: file, line, rule, problem)."""

from __future__ import annotations

import argparse

from workers.rules.parser import load_rules


def check_rules(args: argparse.Namespace) -> int:
    rules = load_rules(args.file)
    names = ", ".join(r.name for r in rules.rules) or "none"
    count = f"{len(rules.rules)} rule{'' if len(rules.rules) == 1 else 's'}"
    print(f"{args.file}: valid (version {rules.version}, {count}: {names})")
    return 0
