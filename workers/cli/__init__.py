"""The console script `awork-billing` and its commands; nothing of the project imports it.

main        `main()`: parse, run, one line and an exit code on failure
parser      every command and its arguments
operator    what a command holds (process context, `Billing`), errors as one line
services    serve, worker, healthcheck, sandbox, demo, run
stack       sandbox + web app + worker in one loop (`make run`, the demo, the tests)
demo        `make demo` (with story; expected: what the rules still want of the sandbox)
localredis  a Redis on loopback for local runs and CI
checkrules  check-rules
simulate    simulate (with findings, budgetview)
backfill    backfill (with tally, progress)
records     audit, dead-letters
webhook     webhook register|status|enable|list
close       close preview|commit|list|show|reopen (the month-end close, with closeviews)
period, argtypes, tables, progress   the shared pieces of the commands
"""

from workers.cli.main import main

__all__ = ["main"]
