"""Rules every rendered installation must follow, as checks that list what breaks them.

Each check takes all documents of one rendering (an overlay, or a broken fixture) and returns
its problems, one line each; an empty list means the rule holds. tests/deploy/test_manifests.py
runs every check on every overlay, and test_fixtures.py runs each on a fixture that breaks it.
The checks live in `pods` (what each pod is) and `wiring` (how objects fit together).
"""

from __future__ import annotations

from collections.abc import Callable

from tests.deploy import pods, wiring
from tests.deploy.manifests import Docs

Check = Callable[[Docs], list[str]]

CHECKS: dict[str, Check] = {
    check.__name__: check
    for check in (
        pods.security_context,
        pods.probes,
        pods.resources,
        pods.images,
        pods.writable_tmp,
        pods.drain,
        pods.service_account_token,
        pods.redis,
        wiring.ingress,
        wiring.references,
        wiring.network_policies,
        wiring.autoscaled_replicas,
        wiring.keda,
        wiring.alert_metrics,
    )
}
