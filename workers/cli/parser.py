"""The command line's grammar: every command, its arguments and the function that runs it.

argparse usage errors are one line on stderr and exit 2 (`_Parser.error`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import NoReturn

from workers.cli import argtypes, backfill, close, records, services, simulate, webhook
from workers.cli.checkrules import check_rules
from workers.cli.operator import CliError

Handler = Callable[[argparse.Namespace], int]
DESCRIPTION = "awork-billing: the command line of the service."


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build() -> argparse.ArgumentParser:
    """The parser of every command; each sets `handler` (and `command`)."""
    parser = _Parser(prog="awork-billing", description=DESCRIPTION)
    sub = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")

    def command(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(handler=handler)
        return p

    p = command("serve", services.serve, "Run the web app (uvicorn service.app:app).")
    p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    # a string default goes through `type` too, only when this command runs: a bad PORT is
    # this command's one-line error, not every command's traceback
    p.add_argument("--port", type=argtypes.port, default=os.environ.get("PORT", "8000"))
    command("worker", services.worker, "Run an arq worker (workers.main.WorkerSettings).")
    p = command("check-rules", check_rules, "Validate a rules file; exit 2 when invalid.")
    p.add_argument("file", help="the rules file (YAML)")
    _simulate(
        command(
            "simulate",
            simulate.command,
            "Show what a rules file would change, on entries from awork or a file (read-only).",
        )
    )
    _backfill(
        command(
            "backfill",
            backfill.command,
            "Apply the rules to past entries (bulk, within the rate limit, resumable).",
        )
    )
    _audit(command("audit", records.audit, "Show recent changes from the audit log."))
    p = command("dead-letters", records.dead_letters, "List, replay or purge dead letters.")
    p.add_argument("action", choices=["list", "replay", "purge"])
    p.add_argument("ids", nargs="*", help="dead-letter ids (replay/purge)")
    p.add_argument("--all", action="store_true", help="replay/purge every dead letter")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table (list)")
    p = command(
        "manual",
        records.manual,
        "List or lift what people set by hand (the rules "
        "leave it alone under respect_manual_changes).",
    )
    p.add_argument("action", choices=["list", "clear"])
    p.add_argument("entries", nargs="*", type=argtypes.guid, metavar="ENTRY", help="time entry ids")
    p.add_argument("--all", action="store_true", help="clear: every entry's locks")
    p.add_argument("--json", action="store_true", help="list: JSON lines")
    _webhook(command("webhook", _no_action, "Manage awork's webhook to this service."))
    close.register(command("close", close.missing_action, "The month-end close of a period."))
    p = command("healthcheck", services.healthcheck, "Exit 0 when this pod's worker loop is alive.")
    p.add_argument("--max-age", type=float, default=60.0, help="seconds")
    p.add_argument("--ready", action="store_true", help="also require a finished start-up")
    p = command("sandbox", services.sandbox, "Run the awork sandbox (a fake awork API).")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--entries", type=int, default=300, help="seeded time entries")
    p.add_argument("--seed", type=int, default=7, help="seed of the workspace and faults")
    p.add_argument(
        "--retainer-client",
        action="store_true",
        help="add a retainer client whose November 2026 is nearly used up (as make demo/run)",
    )
    p.add_argument(
        "--project-budgets", action="store_true", help="give two projects a time budget of 60 h"
    )
    command("demo", services.demo, "Run the whole pipeline once against the sandbox.")
    p = command("run", services.run, "Run web app and worker (and the sandbox if no awork).")
    p.add_argument("--port", type=argtypes.port, default=os.environ.get("PORT", "8000"))
    return parser


def _simulate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", required=True, metavar="FILE", help="the rules file to try")
    _period(p, required=False)
    p.add_argument(
        "--entries",
        metavar="FILE.json",
        help="evaluate these entries (a JSON list, or an object with 'entries') "
        "instead of reading awork",
    )
    p.add_argument(
        "--samples",
        type=argtypes.count,
        default=10,
        metavar="N",
        help="sample changes to show (default 10)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")


def _backfill(p: argparse.ArgumentParser) -> None:
    _period(p, required=True)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="write nothing; audit the would-be changes (outcome dry_run)",
    )
    p.add_argument("--restart", action="store_true", help="ignore a saved checkpoint")
    p.add_argument(
        "--page-size",
        type=argtypes.page_size,
        default=1000,
        metavar="N",
        help="entries per read (default and awork's maximum: 1000)",
    )
    p.add_argument("--json", action="store_true", help="the summary as one JSON object")


def _period(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument(
        "--from",
        dest="start",
        type=argtypes.day,
        required=required,
        metavar="DATE",
        help="first day (YYYY-MM-DD, UTC), by startDateUtc",
    )
    p.add_argument(
        "--to",
        dest="end",
        type=argtypes.day,
        required=required,
        metavar="DATE",
        help="last day (YYYY-MM-DD, UTC), included",
    )
    p.add_argument("--project", type=argtypes.guid, metavar="ID", help="only this project")


def _audit(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--limit",
        type=argtypes.positive,
        default=50,
        metavar="N",
        help="how many entries (newest first; default 50)",
    )
    p.add_argument("--entry", type=argtypes.guid, metavar="ID", help="only this time entry")
    p.add_argument("--rule", help="only this rule")
    p.add_argument(
        "--since",
        type=argtypes.since,
        metavar="WHEN",
        help="only changes since WHEN: an ISO date-time (UTC if no offset) "
        "or a duration ago like 2h, 3d, 1h30m",
    )
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")


def _webhook(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(required=True, metavar="ACTION", dest="action")

    def action(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=text, description=text)
        q.set_defaults(handler=handler)
        return q

    q = action(
        "register",
        webhook.register,
        "Create awork's webhook to this service (or update the one with the same URL).",
    )
    q.add_argument(
        "--url",
        type=argtypes.url,
        help="where awork delivers (default: $PUBLIC_URL/webhooks/awork)",
    )
    q.add_argument("--name", default="awork-billing", help="the webhook's name in awork")
    q.add_argument("--json", action="store_true", help="the webhook as JSON")
    q = action(
        "status",
        webhook.status,
        "Active or paused, last failure, newest deliveries (exit 1 when paused).",
    )
    q.add_argument(
        "id",
        nargs="?",
        type=argtypes.guid,
        metavar="ID",
        help="the webhook (default: AWORK_WEBHOOK_ID)",
    )
    q.add_argument(
        "--deliveries",
        type=argtypes.count,
        default=10,
        metavar="N",
        help="newest deliveries to show (default 10)",
    )
    q.add_argument("--json", action="store_true", help="one JSON object")
    q = action("enable", webhook.enable, "Re-enable a webhook awork has paused.")
    q.add_argument(
        "id",
        nargs="?",
        type=argtypes.guid,
        metavar="ID",
        help="the webhook (default: AWORK_WEBHOOK_ID)",
    )
    q = action("list", webhook.list_webhooks, "Every webhook of the workspace.")
    q.add_argument("--json", action="store_true", help="a JSON list")


def _no_action(args: argparse.Namespace) -> int:  # argparse requires an action first
    raise CliError("webhook needs an action", 2)
