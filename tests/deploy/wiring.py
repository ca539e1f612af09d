"""Rules for how the objects fit together and face the outside: the public Ingress, names that
point at other objects, NetworkPolicies, autoscalers, KEDA's queue trigger and the alerts.

Each check takes all documents of one rendering and returns its problems, one line each.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from service.contract.queue import QueueStats
from service.web.metrics import WebMetrics
from tests.deploy.manifests import (
    Docs,
    Manifest,
    app_containers,
    containers,
    describe,
    environment,
    named,
    of_kind,
    pod_labels,
    pod_spec,
    role,
    selects,
    workloads,
)
from workers.telemetry import WorkerMetrics

SECRET_NAME = "awork-billing"
SECRET_KEYS = frozenset({"AWORK_API_TOKEN", "WEBHOOK_TOKEN", "REDIS_URL"})
WEBHOOK_PATH = "/webhooks/awork"
QUEUE_FIELDS = frozenset(f.name for f in dataclasses.fields(QueueStats))
"""What `GET /queue` answers (`QueueStats`)."""


# The metrics the app exports (web: webhooks and queue; workers: the rest).
def _exported(registry: CollectorRegistry) -> set[str]:
    """Sample names a registry exports (counters as `<name>_total`)."""
    names = set()
    for family in registry.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


# every metric the web app and the workers export: the dashboard must chart each of them, and
# alerts may use no other (so a renamed metric fails here, not silently in Grafana)
KNOWN_METRICS = frozenset(_exported(WebMetrics().registry) | _exported(WorkerMetrics().registry))
METRIC_NAME = re.compile(r"\bawork_billing_[a-z0-9_]+")


def ingress(docs: Docs) -> list[str]:
    """Only /webhooks/awork is public, and nginx refuses bodies the app would refuse (413)."""
    limits = {
        environment(c, docs).get("WEBHOOK_MAX_BYTES")
        for _, c in app_containers(docs)
        if role(c) == "serve"
    }
    problems = []
    for item in of_kind(docs, "Ingress"):
        where = f"Ingress {item['metadata']['name']}"
        size = (
            item["metadata"]
            .get("annotations", {})
            .get("nginx.ingress.kubernetes.io/proxy-body-size")
        )
        if size is None:
            problems.append(f"{where}: no nginx.ingress.kubernetes.io/proxy-body-size")
        elif {str(_nginx_bytes(size))} != limits:
            problems.append(
                f"{where}: proxy-body-size {size} differs from WEBHOOK_MAX_BYTES {limits}"
            )
        for rule in item["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                if (path.get("path"), path.get("pathType")) != (WEBHOOK_PATH, "Exact"):
                    problems.append(f"{where}: routes {path.get('path')} ({path.get('pathType')})")
        if "defaultBackend" in item["spec"]:
            problems.append(f"{where}: has a defaultBackend")
    return problems


def _nginx_bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    unit = size[-1].lower()
    return int(size[:-1]) * units[unit] if unit in units else int(size)


def references(docs: Docs) -> list[str]:
    """Names that point at other objects point at rendered ones (kustomize hashes included)."""
    problems = []
    labels = [pod_labels(w) for w in workloads(docs)]
    for kind in ("Service", "PodDisruptionBudget"):
        for item in of_kind(docs, kind):
            if not any(selects(item["spec"]["selector"], pod) for pod in labels):
                problems.append(f"{kind} {item['metadata']['name']}: selects no pods")
    for item in [*of_kind(docs, "HorizontalPodAutoscaler"), *of_kind(docs, "ScaledObject")]:
        if named(docs, "Deployment", item["spec"]["scaleTargetRef"]["name"]) is None:
            problems.append(f"{item['kind']} {item['metadata']['name']}: no such Deployment")
    for item in of_kind(docs, "Ingress"):
        for rule in item["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                service = path["backend"]["service"]
                if not _has_port(named(docs, "Service", service["name"]), service["port"]):
                    problems.append(
                        f"Ingress {item['metadata']['name']}: no Service port {service}"
                    )
    for workload in workloads(docs):
        problems += _pod_references(workload, docs)
    return problems


def _has_port(service: Manifest | None, port: dict[str, object]) -> bool:
    ports = service["spec"]["ports"] if service else []
    if "name" in port:
        return any(p.get("name") == port["name"] for p in ports)
    return any(p["port"] == port.get("number") for p in ports)


def _pod_references(workload: Manifest, docs: Docs) -> list[str]:
    where, spec = describe(workload), pod_spec(workload)
    config_maps = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
    secret_keys = []
    for container in containers(workload):
        config_maps += [
            s["configMapRef"]["name"] for s in container.get("envFrom", []) if "configMapRef" in s
        ]
        secret_keys += [
            (v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
            for v in container.get("env", [])
            if "secretKeyRef" in v.get("valueFrom", {})
        ]
    problems = [
        f"{where}: no ConfigMap {name}"
        for name in config_maps
        if not named(docs, "ConfigMap", name)
    ]
    problems += [
        f"{where}: Secret key {name}/{key} is not one of the documented {sorted(SECRET_KEYS)}"
        for name, key in secret_keys
        if name != SECRET_NAME or key not in SECRET_KEYS
    ]
    account = spec.get("serviceAccountName")
    if account and not named(docs, "ServiceAccount", account):
        problems.append(f"{where}: no ServiceAccount {account}")
    return problems


def network_policies(docs: Docs) -> list[str]:
    """Deny by default, then a policy per workload admitting only ports it serves."""
    policies = of_kind(docs, "NetworkPolicy")
    problems = []
    if not any(_is_default_deny(p) for p in policies):
        problems.append("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress)")
    for workload in workloads(docs):
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], pod_labels(workload))
        ]
        if not own:
            problems.append(f"{describe(workload)}: no NetworkPolicy of its own")
        ports = {p.get("containerPort") for c in containers(workload) for p in c.get("ports", [])}
        admitted = {
            port.get("port")
            for p in own
            for rule in p["spec"].get("ingress", [])
            for port in rule.get("ports", [])
        }
        if admitted - ports:
            problems.append(
                f"{describe(workload)}: admits ports {sorted(admitted - ports)} it does not serve"
            )
    return problems


def _is_default_deny(policy: Manifest) -> bool:
    spec = policy["spec"]
    return (
        spec["podSelector"] == {}
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def autoscaled_replicas(docs: Docs) -> list[str]:
    """An autoscaled Deployment has one autoscaler and no `replicas` for apply to reset."""
    problems = []
    targets = [
        i["spec"]["scaleTargetRef"]["name"] for i in of_kind(docs, "HorizontalPodAutoscaler")
    ]
    targets += [i["spec"]["scaleTargetRef"]["name"] for i in of_kind(docs, "ScaledObject")]
    for name in sorted(set(targets)):
        if targets.count(name) > 1:
            problems.append(f"Deployment {name}: more than one autoscaler")
        deployment = named(docs, "Deployment", name)
        if deployment is not None and "replicas" in deployment["spec"]:
            problems.append(f"Deployment {name}: sets replicas although it is autoscaled")
    return problems


def keda(docs: Docs) -> list[str]:
    """ScaledObjects read the queue through the web app's GET /queue (see components/keda)."""
    problems = []
    for item in of_kind(docs, "ScaledObject"):
        where = f"ScaledObject {item['metadata']['name']}"
        if item["spec"].get("minReplicaCount", 0) < 1:
            problems.append(f"{where}: may scale the workers to zero")
        for trigger in item["spec"]["triggers"]:
            if trigger["type"] != "metrics-api":
                problems.append(
                    f"{where}: trigger {trigger['type']} cannot read arq's sorted-set queue"
                )
                continue
            problems += _queue_url_problems(where, trigger["metadata"], docs)
    return problems


def _queue_url_problems(where: str, metadata: dict[str, str], docs: Docs) -> list[str]:
    url = urlsplit(metadata.get("url", ""))
    host = (url.hostname or "").split(".")
    service = named(docs, "Service", host[0]) if len(host) > 2 and host[2] == "svc" else None
    problems = []
    if service is None or service["metadata"].get("namespace") != host[1]:
        problems.append(
            f"{where}: {url.geturl()} is not <service>.<namespace>.svc of a rendered Service"
        )
    elif not _has_port(service, {"number": url.port}) or url.path != "/queue":
        problems.append(f"{where}: {url.geturl()} is not the Service's port and /queue")
    if metadata.get("valueLocation") not in QUEUE_FIELDS:
        problems.append(f"{where}: valueLocation is not one of {sorted(QUEUE_FIELDS)}")
    return problems


def alert_metrics(docs: Docs) -> list[str]:
    """Alert expressions use only metrics the app exports (a typo makes an alert silent)."""
    problems = []
    for item in of_kind(docs, "PrometheusRule"):
        for group in item["spec"]["groups"]:
            for rule in group["rules"]:
                unknown = set(METRIC_NAME.findall(rule.get("expr", ""))) - KNOWN_METRICS
                if unknown:
                    name = rule.get("alert", rule.get("record"))
                    problems.append(f"rule {name}: unknown metrics {sorted(unknown)}")
    return problems
