"""Locating the command-line tools the deploy tests run; a missing one fails the test."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def venv_tool(name: str) -> str:
    """A tool installed with the dev dependencies (next to this Python), else one on PATH."""
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.is_file() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the dev dependencies (uv sync)")
    return path
