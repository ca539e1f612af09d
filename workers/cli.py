"""`awork-billing`: the command line of the service.

Exit codes: 0 success, 1 a failure while working (Redis or awork unreachable), 2 bad input (a
usage error, an invalid setting or rules file) — always with one line on stderr saying why.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from service.settings import Settings, SettingsError, load_settings, require
from workers import commands
from workers.ruleset import RulesError, load_rules


class CliError(Exception):
    """A failure to report on one line; `code` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (SettingsError, RulesError) as e:
        print(f"awork-billing: {e}", file=sys.stderr)
        return 2
    except CliError as e:
        print(f"awork-billing: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="awork-billing", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(handler=handler)
        return p

    p = command("serve", _serve, "Run the web app (uvicorn service.app:app).")
    p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    command("worker", _worker, "Run an arq worker (workers.main.WorkerSettings).")
    p = command("check-rules", _check_rules, "Validate a rules file; exit 2 when invalid.")
    p.add_argument("file", help="the rules file (YAML)")
    p = command("audit", commands.audit, "Show recent changes from the audit log.")
    p.add_argument("--limit", type=int, default=50, help="how many entries (newest first)")
    p.add_argument("--entry", help="only this time entry id")
    p.add_argument("--rule", help="only this rule")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p = command("dead-letters", commands.dead_letters, "List, replay or purge dead letters.")
    p.add_argument("action", choices=["list", "replay", "purge"])
    p.add_argument("ids", nargs="*", help="dead-letter ids (replay/purge)")
    p.add_argument("--all", action="store_true", help="replay/purge every dead letter")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table (list)")
    p = command("healthcheck", _healthcheck, "Exit 0 when this pod's worker loop is alive.")
    p.add_argument("--max-age", type=float, default=60.0, help="seconds")
    p = command("sandbox", commands.sandbox, "Run the awork sandbox (a fake awork API).")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--entries", type=int, default=300)
    command("demo", commands.demo, "Run the whole pipeline once against the sandbox.")
    command("run", commands.run_local, "Run web app and worker (and the sandbox if no awork).")
    return parser


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
    print(f"{args.file}: valid (version {rules.version}, {len(rules.rules)} rules: {names})")
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
