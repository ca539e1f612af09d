"""The kustomize renderings: each builds, validates against Kubernetes' schemas, follows policy.

Every overlay under deploy/overlays (and the base) is rendered with `kubectl kustomize`, and
every document is validated for each Kubernetes version in KUBERNETES_VERSIONS and run through
every check in tests/deploy/policy.py. Then what differs between dev and prod.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.manifests import (
    DEPLOY,
    app_containers,
    containers,
    environment,
    named,
    of_kind,
    overlays,
    pod_labels,
    render,
    role,
    selects,
    workloads,
)
from tests.deploy.policy import CHECKS
from tests.deploy.schemas import KUBERNETES_VERSIONS, schema_problems
from tests.deploy.tools import venv_tool
from tests.deploy.wiring import SECRET_KEYS, SECRET_NAME

TARGETS = [DEPLOY / "base", *overlays()]


def _id(target: Path) -> str:
    return target.name


def test_dev_and_prod_overlays_exist() -> None:
    assert {p.name for p in overlays()} >= {"dev", "prod"}


def test_every_component_is_rendered_by_an_overlay() -> None:
    used = set()
    for overlay in overlays():
        kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
        used |= {(overlay / c).resolve() for c in kustomization.get("components", [])}
    assert {p.resolve() for p in (DEPLOY / "components").iterdir()} <= used


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("target", TARGETS, ids=_id)
def test_documents_validate(target: Path, version: str) -> None:
    assert [p for doc in render(target) for p in schema_problems(doc, version)] == []


@pytest.mark.parametrize("check", sorted(CHECKS))
@pytest.mark.parametrize("target", TARGETS, ids=_id)
def test_policy(target: Path, check: str) -> None:
    assert CHECKS[check](render(target)) == []


@pytest.mark.parametrize("overlay", overlays(), ids=_id)
def test_overlay_owns_a_restricted_namespace(overlay: Path) -> None:
    docs = render(overlay)
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {namespace["metadata"]["name"]}


@pytest.mark.parametrize("overlay", overlays(), ids=_id)
def test_both_roles_run_from_one_image(overlay: Path) -> None:
    apps = list(app_containers(render(overlay)))
    assert sorted(role(c) for _, c in apps) == ["serve", "worker"]
    assert len({c["image"] for _, c in apps}) == 1


@pytest.mark.parametrize("overlay", overlays(), ids=_id)
def test_rules_file_is_mounted_where_rules_file_points(overlay: Path) -> None:
    """In the workers; the web app reads no rules, so a rules change does not roll it."""
    docs = render(overlay)
    for workload, container in app_containers(docs):
        path = Path(environment(container, docs)["RULES_FILE"])
        if workload["metadata"]["name"].endswith("-web"):
            assert str(path.parent) not in [m["mountPath"] for m in container["volumeMounts"]]
            continue
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent))
        volume = next(
            v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]
        )
        config_map = named(docs, "ConfigMap", volume["configMap"]["name"])
        assert config_map is not None
        assert config_map["data"][path.name] == (DEPLOY / "rules" / "rules.yaml").read_text()


def test_default_rules_pass_check_rules() -> None:
    # The workers refuse to start on a rules file this rejects.
    result = subprocess.run(
        [venv_tool("awork-billing"), "check-rules", str(DEPLOY / "rules" / "rules.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_dev_runs_its_own_persistent_redis() -> None:
    docs = render(DEPLOY / "overlays" / "dev")
    (redis,) = [
        w
        for w in workloads(docs)
        if any("redis-server" in c.get("command", []) for c in containers(w))
    ]
    assert redis["kind"] == "StatefulSet"
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    for _, container in app_containers(docs):
        host = urlsplit(environment(container, docs)["REDIS_URL"]).hostname
        service = named(docs, "Service", host or "")
        assert service is not None
        assert selects(service["spec"]["selector"], pod_labels(redis))


def test_prod_uses_the_secret_redis_and_a_registry_image() -> None:
    docs = render(DEPLOY / "overlays" / "prod")
    assert all(
        "redis-server" not in c.get("command", []) for w in workloads(docs) for c in containers(w)
    )
    for _, container in app_containers(docs):
        (redis_url,) = [v for v in container["env"] if v["name"] == "REDIS_URL"]
        assert redis_url["valueFrom"]["secretKeyRef"] == {"name": SECRET_NAME, "key": "REDIS_URL"}
        assert "." in container["image"].split("/", 1)[0], "prod pulls from a registry"


def test_prod_writes_and_dev_only_dry_runs() -> None:
    def dry_run(overlay: str) -> set[str]:
        docs = render(DEPLOY / "overlays" / overlay)
        return {environment(c, docs)["DRY_RUN"] for _, c in app_containers(docs)}

    assert dry_run("prod") == {"false"}
    assert dry_run("dev") == {"true"}


def test_secret_template_lists_exactly_the_keys_the_pods_read() -> None:
    lines = (DEPLOY / "secrets.example.env").read_text().splitlines()
    keys = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    docs = render(DEPLOY / "overlays" / "prod")
    read = {
        var["valueFrom"]["secretKeyRef"]["key"]
        for _, container in app_containers(docs)
        for var in container.get("env", [])
        if "secretKeyRef" in var.get("valueFrom", {})
    }
    assert keys == read == SECRET_KEYS


def test_keda_worker_scaling_reads_the_queue_endpoint() -> None:
    docs = render(DEPLOY / "overlays" / "prod")
    (scaled,) = of_kind(docs, "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    location = trigger["metadata"]["valueLocation"]
    assert (trigger["type"], location) == ("metrics-api", "queued_entries")  # not ready jobs
    keda_policy = named(docs, "NetworkPolicy", "awork-billing-web-keda")
    assert keda_policy is not None, "KEDA's operator must be let through to GET /queue"
