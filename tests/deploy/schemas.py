"""Schema validation of rendered manifests, offline.

Built-in kinds are checked with `kubernetes_validate` in strict mode (unknown fields are errors)
against the JSON schemas the package ships for each Kubernetes minor version, so no network is
needed. A kind or apiVersion the version does not serve (`extensions/v1beta1` Deployments,
`policy/v1beta1` PodDisruptionBudgets, ...) has no schema there and is an error too.

The only custom resources let through are the ones deploy/ uses - KEDA's ScaledObject and the
Prometheus operator's ServiceMonitor, PodMonitor and PrometheusRule - and each is checked against
the small schema below: the fields we use, the ones the CRD requires, and no unknown ones at
`spec` level (a typo there is silently ignored by a cluster that prunes unknown fields).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate

from tests.deploy.manifests import Manifest

# The oldest Kubernetes minor these manifests support, and the newest the locked
# kubernetes-validate ships (catching APIs removed since).
KUBERNETES_VERSIONS = ("1.31", "1.37")

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "labels": _STRINGS, "annotations": _STRINGS},
}
_SELECTOR = {
    "type": "object",
    "properties": {"matchLabels": _STRINGS},
    "additionalProperties": False,
    "required": ["matchLabels"],
}
_RELABELINGS = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sourceLabels": {"type": "array", "items": {"type": "string"}},
            "targetLabel": {"type": "string"},
            "replacement": {"type": "string"},
            "regex": {"type": "string"},
            "action": {"type": "string"},
        },
    },
}
_ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["port"],
    "properties": {
        "port": {"type": "string"},
        "path": {"type": "string"},
        "interval": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h)$"},
        "relabelings": _RELABELINGS,
    },
}


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, **spec},
        },
    }


_TRIGGER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "metadata"],
    "properties": {
        "type": {"type": "string"},
        "name": {"type": "string"},
        # KEDA's trigger metadata is map[string]string: `targetValue: 50` is rejected.
        "metadata": _STRINGS,
        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
        "useCachedMetrics": {"type": "boolean"},
        "authenticationRef": {"type": "object", "required": ["name"]},
    },
}
_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["expr"],
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string"},
        "record": {"type": "string"},
        "expr": {"type": "string", "minLength": 1},
        "for": {"type": "string", "pattern": r"^[0-9]+(ms|s|m|h|d)$"},
        "labels": _STRINGS,
        "annotations": _STRINGS,
    },
}
CUSTOM_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): _resource(
        "keda.sh/v1alpha1",
        "ScaledObject",
        {
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["failureThreshold", "replicas"],
                    "properties": {
                        "failureThreshold": {"type": "integer", "minimum": 1},
                        "replicas": {"type": "integer", "minimum": 1},
                    },
                },
                "advanced": {"type": "object"},
                "triggers": {"type": "array", "minItems": 1, "items": _TRIGGER},
            },
        },
    ),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _resource(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        {
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": _SELECTOR,
                "endpoints": {"type": "array", "minItems": 1, "items": _ENDPOINT},
            },
        },
    ),
    ("monitoring.coreos.com/v1", "PodMonitor"): _resource(
        "monitoring.coreos.com/v1",
        "PodMonitor",
        {
            "required": ["selector", "podMetricsEndpoints"],
            "properties": {
                "selector": _SELECTOR,
                "podMetricsEndpoints": {"type": "array", "minItems": 1, "items": _ENDPOINT},
            },
        },
    ),
    ("monitoring.coreos.com/v1", "PrometheusRule"): _resource(
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        {
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string"},
                            "interval": {"type": "string"},
                            "rules": {"type": "array", "minItems": 1, "items": _RULE},
                        },
                    },
                }
            },
        },
    ),
}
CUSTOM_GROUPS = frozenset(api_version.split("/")[0] for api_version, _ in CUSTOM_SCHEMAS)


def schema_problems(doc: Manifest, version: str) -> list[str]:
    """What is wrong with `doc` for Kubernetes `version`; empty when it validates."""
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    where = f"{kind} {doc.get('metadata', {}).get('name')} ({api_version})"
    if api_version.split("/")[0] in CUSTOM_GROUPS:
        schema = CUSTOM_SCHEMAS.get((api_version, kind))
        if schema is None:
            return [f"{where}: not a custom resource these manifests may use"]
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{where}: {_path(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)
        ]
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"{where}: unknown kind or apiVersion: {e.message}"]
    except kubernetes_validate.ValidationError as e:
        return [f"{where}: {_path(e.path)}: {e.message} (Kubernetes {version})"]
    return []


def _path(parts: Any) -> str:
    return ".".join(str(part) for part in parts) or "(document)"
