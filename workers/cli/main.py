"""`awork-billing`: the command line of the service.

Exit codes: 0 success, 1 a failure while working (Redis or awork unreachable, awork refusing, a
paused webhook), 2 bad input (a usage error, a bad date, duration or id, an invalid setting or
rules file) — always with one line on stderr saying why; 130 after Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.contract.settings import SettingsError
from workers.awork.errors import AworkError
from workers.cli import parser
from workers.cli.operator import CliError
from workers.rules.model import RulesError

SERVICES = {"serve", "worker", "sandbox", "demo", "run"}
"""Commands that configure logging themselves; the others log only what an operator needs."""
OPERATOR_LOGGERS = ("workers.awork.retry",)
"""Loggers whose warnings an operator sees (a retry in progress); else only errors."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser.build().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed on one line
        return e.code if isinstance(e.code, int) else 2
    if args.command not in SERVICES:
        _operator_logging()
    try:
        code: int = args.handler(args)
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
    return code


def _fail(message: str, code: int) -> int:
    print(f"awork-billing: {message}", file=sys.stderr)
    return code


def _operator_logging() -> None:
    """Operator commands: retries and errors on stderr, not every awork answer (the one-line
    error says what failed)."""
    root = logging.getLogger()
    if root.handlers:  # embedded (a test, a script that configured logging): leave it be
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("awork-billing: %(message)s"))
    handler.addFilter(lambda r: r.levelno >= logging.ERROR or r.name in OPERATOR_LOGGERS)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


if __name__ == "__main__":
    raise SystemExit(main())
