"""awork's ids: GUIDs, written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (SPEC 7.3: `guid'…'`).

The one definition of what an awork id looks like, for the web app (a time entry's id must be
one: the worker reads entries back by `guid'…'`), the rules (a `type_of_work` id) and the CLI
(an `--entry`, `--project` or webhook id).
"""

from __future__ import annotations

import re

GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
"""A GUID in its canonical, hyphenated form (either case); match with `fullmatch`."""


def is_guid(text: str) -> bool:
    """Whether `text` is exactly one GUID."""
    return GUID.fullmatch(text) is not None
