"""The Grafana dashboard and the alert rules speak the app's metric names and scrape jobs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.deploy.manifests import DEPLOY, Manifest, named, of_kind, render
from tests.deploy.wiring import KNOWN_METRICS, METRIC_NAME

DASHBOARD = DEPLOY / "monitoring" / "dashboard.json"
REQUIRED_ALERTS = {
    "AworkBillingWebhookPaused": "awork_billing_webhook_active",
    "AworkBillingDeadLettersGrowing": "awork_billing_dead_letters",
    "AworkBillingQueueStalled": "awork_billing_queue_oldest_ready_age_seconds",
    "AworkBillingRateLimited": "awork_billing_awork_rate_limited_total",
    "AworkBillingNoWorker": 'up{job="awork-billing-worker"}',
}


def _expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _rules() -> dict[str, str]:
    (rule,) = of_kind(render(DEPLOY / "overlays" / "prod"), "PrometheusRule")
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def test_dashboard_charts_every_metric_and_no_other() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for expr in _expressions(dashboard) for name in METRIC_NAME.findall(expr)}
    assert used == KNOWN_METRICS


def test_dashboard_panels_use_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert {p["datasource"]["uid"] for p in panels} == {"${datasource}"}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    assert all('namespace="$namespace"' in expr for expr in _expressions(dashboard))


def test_dashboard_ships_as_a_grafana_sidecar_configmap() -> None:
    config_map = named(render(DEPLOY / "overlays" / "prod"), "ConfigMap", "awork-billing-dashboard")
    assert config_map is not None
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["awork-billing.json"]) == json.loads(DASHBOARD.read_text())


@pytest.mark.parametrize(("alert", "signal"), REQUIRED_ALERTS.items())
def test_required_alert_watches_its_signal(alert: str, signal: str) -> None:
    assert signal in _rules()[alert]


def test_alerts_name_the_jobs_the_monitors_create() -> None:
    docs = render(DEPLOY / "overlays" / "prod")
    jobs = {_job(m) for m in [*of_kind(docs, "ServiceMonitor"), *of_kind(docs, "PodMonitor")]}
    named_jobs = {job for expr in _rules().values() for job in re.findall(r'job="([^"]+)"', expr)}
    assert jobs == named_jobs == {"awork-billing-web", "awork-billing-worker"}


def _job(monitor: Manifest) -> str:
    (endpoint,) = monitor["spec"].get("endpoints") or monitor["spec"]["podMetricsEndpoints"]
    (relabel,) = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
    job: str = relabel["replacement"]
    return job
