"""deploy/check-tools.sh, run with stand-in commands on an otherwise empty PATH."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.deploy.manifests import DEPLOY

SCRIPT = DEPLOY / "check-tools.sh"


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(SCRIPT)],
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_script_is_valid_sh() -> None:
    assert subprocess.run(["/bin/sh", "-n", str(SCRIPT)], check=False).returncode == 0


def test_present_kubectl_is_enough(tmp_path: Path) -> None:
    _stub(tmp_path, "kubectl", "exit 0")
    assert _run(tmp_path).returncode == 0


def test_missing_kubectl_without_root_is_one_line_saying_what_to_install(tmp_path: Path) -> None:
    _stub(tmp_path, "id", "echo 1000")
    result = _run(tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "apt-get install kubectl" in result.stderr


def test_missing_kubectl_as_root_installs_the_debian_package(tmp_path: Path) -> None:
    log = tmp_path / "apt-get.log"
    _stub(tmp_path, "id", "echo 0")
    # The stand-in "installs" kubectl by creating it, as the real package would.
    kubectl = tmp_path / "kubectl"
    _stub(
        tmp_path,
        "apt-get",
        f'echo "$*" >> {log}\nprintf "#!/bin/sh\\nexit 0\\n" > {kubectl}; /bin/chmod +x {kubectl}',
    )
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        log.read_text().splitlines()[-1].endswith("install -y -qq --no-install-recommends kubectl")
    )
