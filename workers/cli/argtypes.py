"""Argument types of the CLI: each parses one command-line value or refuses it in words.

argparse puts the argument's name in front of the message, and the CLI's parser prints it as one
line with exit code 2:  `awork-billing backfill: argument --from: invalid date '2026-13-01'
(expected YYYY-MM-DD)`.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from service.contract.ids import is_guid

_DURATION = re.compile(r"(?:\d+[smhdw])+")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def day(text: str) -> date:
    """A calendar day, `YYYY-MM-DD` (awork's `startDateUtc`: days in UTC)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"invalid date {text!r} (expected YYYY-MM-DD)")


def since(text: str, now: datetime | None = None) -> datetime:
    """A moment in UTC: an ISO 8601 date-time (naive = UTC), or a duration ago (`2h`, `3d`,
    `1h30m`; units s, m, h, d, w)."""
    if _DURATION.fullmatch(text):
        seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", text))
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r} (expected an ISO date-time like 2026-11-02T09:00:00Z, "
            "or a duration like 2h, 3d, 1h30m)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def guid(text: str) -> str:
    """An awork id (a GUID), lower-cased."""
    if not is_guid(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an awork id (a GUID)")
    return text.lower()


def positive(text: str) -> int:
    """A whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def count(text: str) -> int:
    """A whole number of at least 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 0")
    return int(text)


def page_size(text: str) -> int:
    """An awork page size: 1 to 1000 (awork's maximum)."""
    size = positive(text)
    if size > 1000:
        raise argparse.ArgumentTypeError(f"{size} is over awork's maximum page size of 1000")
    return size


def port(text: str) -> int:
    """A TCP port, 1 to 65535 (also what `PORT` holds when the option is not given)."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r} (from --port or PORT: 1 to 65535)")
    return int(text)


def url(text: str) -> str:
    """An absolute http(s) URL."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an absolute http(s) URL")
    return text
