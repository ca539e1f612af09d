"""`awork-billing`: the command line of the service.

Exit codes: 0 success, 1 a failure while working (Redis or awork unreachable, awork refusing, a
paused webhook), 2 bad input (a usage error, a bad date, duration or id, an invalid setting or
rules file) — always with one line on stderr saying why; 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.settings import Settings, SettingsError, load_settings, require
from workers import argtypes, backfill, commands, simulate, webhookadmin
from workers.awork import AworkError
from workers.ruleset import RulesError, load_rules
from workers.session import CliError

__all__ = ["CliError", "main"]

Handler = Callable[[argparse.Namespace], int]
SERVICES = {"serve", "worker", "sandbox", "demo", "run"}
"""Commands that configure logging themselves; the others log only what an operator needs."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed on one line
        return e.code if isinstance(e.code, int) else 2
    handler: Handler = args.handler
    if args.command not in SERVICES:
        _operator_logging()
    try:
        return handler(args)
    except (SettingsError, RulesError) as e:
        return _fail(str(e), 2)
    except CliError as e:
        return _fail(str(e), e.code)
    except AworkError as e:
        return _fail(f"awork: {e}", 1)
    except (RedisConnectionError, RedisTimeoutError) as e:
        return _fail(f"cannot reach Redis: {e}", 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # `… | head`: the reader left; say nothing more to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _fail(message: str, code: int) -> int:
    print(f"awork-billing: {message}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="awork-billing", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")

    def command(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(handler=handler)
        return p

    p = command("serve", _serve, "Run the web app (uvicorn service.app:app).")
    p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    command("worker", _worker, "Run an arq worker (workers.main.WorkerSettings).")
    p = command("check-rules", _check_rules, "Validate a rules file; exit 2 when invalid.")
    p.add_argument("file", help="the rules file (YAML)")
    _simulate(command("simulate", simulate.command, "Show what a rules file would change, "
                      "on entries from awork or a file (read-only)."))  # fmt: skip
    _backfill(command("backfill", backfill.command, "Apply the rules to past entries "
                      "(bulk, within the rate limit, resumable)."))  # fmt: skip
    _audit(command("audit", commands.audit, "Show recent changes from the audit log."))
    p = command("dead-letters", commands.dead_letters, "List, replay or purge dead letters.")
    p.add_argument("action", choices=["list", "replay", "purge"])
    p.add_argument("ids", nargs="*", help="dead-letter ids (replay/purge)")
    p.add_argument("--all", action="store_true", help="replay/purge every dead letter")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table (list)")
    _webhook(command("webhook", _no_action, "Manage awork's webhook to this service."))
    p = command("healthcheck", _healthcheck, "Exit 0 when this pod's worker loop is alive.")
    p.add_argument("--max-age", type=float, default=60.0, help="seconds")
    p = command("sandbox", commands.sandbox, "Run the awork sandbox (a fake awork API).")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--entries", type=int, default=300)
    command("demo", commands.demo, "Run the whole pipeline once against the sandbox.")
    command("run", commands.run_local, "Run web app and worker (and the sandbox if no awork).")
    return parser


def _simulate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", required=True, metavar="FILE", help="the rules file to try")
    _period(p, required=False)
    p.add_argument("--entries", metavar="FILE.json",
                   help="evaluate these entries (a JSON list, or an object with 'entries') "
                   "instead of reading awork")  # fmt: skip
    p.add_argument("--samples", type=argtypes.count, default=10, metavar="N",
                   help="sample changes to show (default 10)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object instead of tables")


def _backfill(p: argparse.ArgumentParser) -> None:
    _period(p, required=True)
    p.add_argument("--dry-run", action="store_true",
                   help="write nothing; audit the would-be changes (outcome dry_run)")  # fmt: skip
    p.add_argument("--restart", action="store_true", help="ignore a saved checkpoint")
    p.add_argument("--page-size", type=argtypes.page_size, default=1000, metavar="N",
                   help="entries per read (default and awork's maximum: 1000)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the summary as one JSON object")


def _period(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--from", dest="start", type=argtypes.day, required=required,
                   metavar="DATE", help="first day (YYYY-MM-DD, UTC), by startDateUtc")  # fmt: skip
    p.add_argument("--to", dest="end", type=argtypes.day, required=required, metavar="DATE",
                   help="last day (YYYY-MM-DD, UTC), included")  # fmt: skip
    p.add_argument("--project", type=argtypes.guid, metavar="ID", help="only this project")


def _audit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=argtypes.positive, default=50, metavar="N",
                   help="how many entries (newest first; default 50)")  # fmt: skip
    p.add_argument("--entry", type=argtypes.guid, metavar="ID", help="only this time entry")
    p.add_argument("--rule", help="only this rule")
    p.add_argument("--since", type=argtypes.since, metavar="WHEN",
                   help="only changes since WHEN: an ISO date-time (UTC if no offset) "
                   "or a duration ago like 2h, 3d, 1h30m")  # fmt: skip
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")


def _webhook(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(required=True, metavar="ACTION", dest="action")

    def action(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=text, description=text)
        q.set_defaults(handler=handler)
        return q

    q = action("register", webhookadmin.register, "Create awork's webhook to this service "
               "(or update the one with the same URL).")  # fmt: skip
    q.add_argument("--url", type=argtypes.url,
                   help="where awork delivers (default: $PUBLIC_URL/webhooks/awork)")  # fmt: skip
    q.add_argument("--name", default="awork-billing", help="the webhook's name in awork")
    q.add_argument("--json", action="store_true", help="the webhook as JSON")
    q = action(
        "status",
        webhookadmin.status,
        "Active or paused, last failure, newest deliveries (exit 1 when paused).",
    )
    q.add_argument("id", nargs="?", type=argtypes.guid, metavar="ID",
                   help="the webhook (default: AWORK_WEBHOOK_ID)")  # fmt: skip
    q.add_argument("--deliveries", type=argtypes.count, default=10, metavar="N",
                   help="newest deliveries to show (default 10)")  # fmt: skip
    q.add_argument("--json", action="store_true", help="one JSON object")
    q = action("enable", webhookadmin.enable, "Re-enable a webhook awork has paused.")
    q.add_argument("id", nargs="?", type=argtypes.guid, metavar="ID",
                   help="the webhook (default: AWORK_WEBHOOK_ID)")  # fmt: skip
    q = action("list", webhookadmin.list_webhooks, "Every webhook of the workspace.")
    q.add_argument("--json", action="store_true", help="a JSON list")


def _no_action(args: argparse.Namespace) -> int:  # argparse requires an action first
    raise CliError("webhook needs an action", 2)


def _operator_logging() -> None:
    """Operator commands: retries and errors on stderr, not every awork answer (the one-line
    error says what failed)."""
    root = logging.getLogger()
    if root.handlers:  # embedded (a test, a script that configured logging): leave it be
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("awork-billing: %(message)s"))
    handler.addFilter(lambda r: r.levelno >= logging.ERROR or r.name == "workers.history")
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    require(settings, "webhook_token")
    _configure(settings)
    uvicorn.run(
        "service.app:app",
        host=args.host,
        port=args.port,
        access_log=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=settings.uvicorn_timeout_graceful_shutdown,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_config=None,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from arq.worker import Worker

    from workers.main import worker_options

    settings = load_settings()
    require(settings, "awork_api_token")
    load_rules(settings.rules_file)  # a bad rules file: one line and exit 2, before connecting
    _configure(settings)
    Worker(**worker_options(settings)).run()
    return 0


def _check_rules(args: argparse.Namespace) -> int:
    rules = load_rules(args.file)
    names = ", ".join(r.name for r in rules.rules) or "none"
    count = f"{len(rules.rules)} rule{'' if len(rules.rules) == 1 else 's'}"
    print(f"{args.file}: valid (version {rules.version}, {count}: {names})")
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    from workers.context import HEARTBEAT_FILE

    try:
        age = time.time() - Path(HEARTBEAT_FILE).stat().st_mtime
    except FileNotFoundError:
        raise CliError(f"no heartbeat at {HEARTBEAT_FILE}: the worker has not started") from None
    if age > args.max_age:
        raise CliError(f"heartbeat is {age:.0f}s old (limit {args.max_age:.0f}s)")
    print(f"ok: heartbeat {age:.1f}s old")
    return 0


def _configure(settings: Settings) -> None:
    from workers.telemetry import configure_logging

    configure_logging(settings.log_level, settings.log_format)


if __name__ == "__main__":
    raise SystemExit(main())
