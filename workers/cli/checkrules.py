"""`awork-billing check-rules FILE`: validate a rules file (exit 2: file, line, rule, problem) —
or a rates file (`RATES_FILE`, recognised by its top-level keys; exit 2: file, line)."""

from __future__ import annotations

import argparse

from workers.cli.operator import CliError
from workers.rates import RatesError, is_rates_file, load_rates
from workers.rules.parser import load_rules


def check_rules(args: argparse.Namespace) -> int:
    if is_rates_file(args.file):
        return _check_rates(args.file)
    rules = load_rules(args.file)
    names = ", ".join(r.name for r in rules.rules) or "none"
    count = f"{len(rules.rules)} rule{'' if len(rules.rules) == 1 else 's'}"
    print(f"{args.file}: valid (version {rules.version}, {count}: {names})")
    return 0


def _check_rates(path: str) -> int:
    try:
        table = load_rates(path)
    except RatesError as e:
        raise CliError(str(e), 2) from e
    counts = [
        _plural(len(table.rates), "rate"),
        _plural(len(table.rounding), "rounding rule"),
        _plural(len(table.surcharges), "surcharge"),
    ]
    print(f"{path}: valid rates (version 1, {table.currency}: {', '.join(counts)})")
    return 0


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
