"""yamllint over deploy/ with deploy/.yamllint, and proof that it catches a broken file."""

from __future__ import annotations

import subprocess

from tests.deploy.manifests import FIXTURES, REPO
from tests.deploy.tools import venv_tool


def _yamllint(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            venv_tool("yamllint"),
            "--strict",
            "--format",
            "parsable",
            "-c",
            "deploy/.yamllint",
            *paths,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_yamllint_passes_deploy() -> None:
    result = _yamllint("deploy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_lints_the_rules_kustomization() -> None:
    # deploy/rules/Kustomization has no .yaml suffix; the config must still cover it.
    result = _yamllint("--list-files", "deploy")
    assert "deploy/rules/Kustomization" in result.stdout.split()


def test_yamllint_catches_a_duplicate_key() -> None:
    result = _yamllint(str(FIXTURES / "lint" / "duplicate-key.yaml"))
    assert result.returncode != 0
    assert "key-duplicates" in result.stdout


def test_no_latest_tag_anywhere_in_deploy() -> None:
    files = [p for p in (REPO / "deploy").rglob("*") if p.is_file()]
    assert [str(p) for p in files if ":latest" in p.read_text()] == []
