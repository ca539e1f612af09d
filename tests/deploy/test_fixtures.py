"""Each check catches what it exists for: deliberately broken manifests under fixtures/broken.

test_manifests.py shows the real renderings pass every check; this shows every check fails on a
manifest that breaks its rule, so a passing run means something.
"""

from __future__ import annotations

import pytest

from tests.deploy.manifests import FIXTURES, Manifest, load
from tests.deploy.policy import CHECKS
from tests.deploy.schemas import KUBERNETES_VERSIONS, schema_problems


def _schema(docs: list[Manifest]) -> list[str]:
    return [p for doc in docs for p in schema_problems(doc, KUBERNETES_VERSIONS[0])]


# (fixture, check, a fragment of the problem it must report)
CAUGHT = [
    (
        "removed-api.yaml",
        "schema",
        "Deployment awork-billing-web (extensions/v1beta1): unknown kind",
    ),
    (
        "removed-api.yaml",
        "schema",
        "PodDisruptionBudget awork-billing-web (policy/v1beta1): unknown",
    ),
    ("removed-api.yaml", "schema", "(autoscaling/v2beta2): unknown kind or apiVersion"),
    ("typo.yaml", "schema", "'resource' was unexpected"),
    ("keda-redis-trigger.yaml", "schema", "50 is not of type 'string'"),
    ("alert-typo.yaml", "schema", "'expr' is a required property"),
    ("insecure-worker.yaml", "security_context", "pod securityContext.runAsNonRoot is not true"),
    ("insecure-worker.yaml", "security_context", "container worker: readOnlyRootFilesystem"),
    ("insecure-worker.yaml", "probes", "container worker: no livenessProbe"),
    ("insecure-worker.yaml", "resources", "container worker: no resources.limits.memory"),
    ("insecure-worker.yaml", "images", "image 'awork-billing:latest' is not pinned"),
    ("insecure-worker.yaml", "images", "image 'busybox' is not pinned"),
    ("insecure-worker.yaml", "writable_tmp", "/tmp is not a sized Memory emptyDir"),
    ("insecure-worker.yaml", "drain", "terminationGracePeriodSeconds 10 <= drain 30 s"),
    ("insecure-worker.yaml", "service_account_token", "mounts a service account token"),
    ("insecure-worker.yaml", "network_policies", "no default-deny NetworkPolicy"),
    ("insecure-worker.yaml", "network_policies", "no NetworkPolicy of its own"),
    ("public-ingress.yaml", "ingress", "no nginx.ingress.kubernetes.io/proxy-body-size"),
    ("public-ingress.yaml", "ingress", "routes / (Prefix)"),
    ("public-ingress.yaml", "references", "no Service port"),
    ("volatile-redis.yaml", "redis", "--appendonly is not yes"),
    ("volatile-redis.yaml", "redis", "--maxmemory-policy is not noeviction"),
    ("keda-redis-trigger.yaml", "keda", "trigger redis cannot read arq's sorted-set queue"),
    ("keda-redis-trigger.yaml", "keda", "may scale the workers to zero"),
    ("alert-typo.yaml", "alert_metrics", "unknown metrics ['awork_billing_deadletters']"),
    ("double-autoscaled.yaml", "autoscaled_replicas", "more than one autoscaler"),
    ("double-autoscaled.yaml", "autoscaled_replicas", "sets replicas although it is autoscaled"),
    ("double-autoscaled.yaml", "keda", "is not <service>.<namespace>.svc of a rendered Service"),
]


@pytest.mark.parametrize(("fixture", "check", "fragment"), CAUGHT)
def test_check_catches_broken_fixture(fixture: str, check: str, fragment: str) -> None:
    docs = load(FIXTURES / "broken" / fixture)
    problems = _schema(docs) if check == "schema" else CHECKS[check](docs)
    assert any(fragment in problem for problem in problems), problems


def test_every_check_has_a_fixture_it_catches() -> None:
    assert {check for _, check, _ in CAUGHT} == {"schema", *CHECKS}


def test_schema_check_passes_fixtures_that_only_break_policy() -> None:
    # The policy fixtures are schema-valid, so their failures above come from the policy checks.
    for fixture in ("insecure-worker.yaml", "public-ingress.yaml", "volatile-redis.yaml"):
        assert _schema(load(FIXTURES / "broken" / fixture)) == []
