"""Rules for the pods every workload runs: who they run as, how they are probed and sized,
which image, what they may write, how they drain, and the queue Redis's durability.

Each check takes all documents of one rendering and returns its problems, one line each.
"""

from __future__ import annotations

from tests.deploy.manifests import (
    Docs,
    Manifest,
    app_containers,
    containers,
    describe,
    environment,
    is_app,
    of_kind,
    pod_spec,
    role,
    workloads,
)

APP_UID = 10001  # the numeric USER of deploy/Dockerfile
# arq's on_shutdown (closing the HTTP client and Redis) after job_completion_wait.
WORKER_SHUTDOWN_HOOKS_SECONDS = 5


def security_context(docs: Docs) -> list[str]:
    """Pods run as a fixed non-root user, under RuntimeDefault seccomp, with nothing extra."""
    problems = []
    for workload in workloads(docs):
        pod = pod_spec(workload).get("securityContext", {})
        where = describe(workload)
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        for field in ("runAsUser", "runAsGroup", "fsGroup"):
            if not isinstance(pod.get(field), int) or pod[field] <= 0:
                problems.append(f"{where}: pod securityContext.{field} is not a non-root id")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if any(is_app(c) for c in containers(workload)) and pod.get("runAsUser") != APP_UID:
            problems.append(f"{where}: runAsUser is not the image's user {APP_UID}")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod_spec(workload).get(flag):
                problems.append(f"{where}: {flag} is set")
        for container in containers(workload):
            problems += _container_security(describe(workload, container), container)
    return problems


def _container_security(where: str, container: Manifest) -> list[str]:
    context = container.get("securityContext", {})
    problems = []
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if context.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: readOnlyRootFilesystem is not true")
    if "ALL" not in context.get("capabilities", {}).get("drop", []):
        problems.append(f"{where}: capabilities do not drop ALL")
    if context.get("capabilities", {}).get("add"):
        problems.append(f"{where}: adds capabilities")
    if context.get("privileged") or context.get("runAsUser") == 0:
        problems.append(f"{where}: runs privileged or as root")
    return problems


def probes(docs: Docs) -> list[str]:
    """Every container is probed; the app's probes are the ones it serves."""
    problems = []
    for workload in workloads(docs):
        for container in containers(workload):
            where = describe(workload, container)
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in container:
                    problems.append(f"{where}: no {probe}")
    for workload, container in app_containers(docs):
        problems += _app_probes(describe(workload, container), container)
    return problems


def _app_probes(where: str, container: Manifest) -> list[str]:
    if role(container) == "serve":
        expected = {"livenessProbe": "/livez", "readinessProbe": "/readyz"}
        return [
            f"{where}: {probe} is not GET {path}"
            for probe, path in expected.items()
            if container.get(probe, {}).get("httpGet", {}).get("path") != path
        ]
    problems = []
    command = container.get("livenessProbe", {}).get("exec", {}).get("command", [])
    if command[:2] != ["awork-billing", "healthcheck"]:
        problems.append(f"{where}: livenessProbe is not `awork-billing healthcheck`")
    for name in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container.get(name, {})
        # A Python process has to start within the probe's timeout (default 1 s).
        if "exec" in probe and probe.get("timeoutSeconds", 1) < 5:
            problems.append(f"{where}: {name} runs Python with a timeout under 5 s")
    return problems


def resources(docs: Docs) -> list[str]:
    """CPU and memory requests and a memory limit on every container."""
    problems = []
    for workload in workloads(docs):
        for container in containers(workload):
            res = container.get("resources", {})
            for field in ("requests.cpu", "requests.memory", "limits.memory"):
                section, name = field.split(".")
                if name not in res.get(section, {}):
                    problems.append(f"{describe(workload, container)}: no resources.{field}")
    return problems


def images(docs: Docs) -> list[str]:
    """Every image names a tag (not `latest`) or a digest."""
    problems = []
    for workload in workloads(docs):
        for container in containers(workload):
            image = container.get("image", "")
            name = image.split("@", 1)[0]
            tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
            if "@sha256:" not in image and tag in (None, "latest"):
                problems.append(f"{describe(workload, container)}: image {image!r} is not pinned")
    return problems


def writable_tmp(docs: Docs) -> list[str]:
    """The app's only writable path, /tmp, is an in-memory emptyDir with a size limit."""
    problems = []
    for workload, container in app_containers(docs):
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        mount = next(
            (m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"), None
        )
        empty_dir = volumes.get(mount["name"], {}).get("emptyDir") if mount else None
        if not empty_dir or empty_dir.get("medium") != "Memory" or "sizeLimit" not in empty_dir:
            problems.append(f"{describe(workload, container)}: /tmp is not a sized Memory emptyDir")
    return problems


def drain(docs: Docs) -> list[str]:
    """terminationGracePeriodSeconds outlasts the drain: preStop + uvicorn, or arq's wait."""
    problems = []
    for workload, container in app_containers(docs):
        where = describe(workload, container)
        grace = pod_spec(workload).get("terminationGracePeriodSeconds", 30)
        needed = _drain_seconds(container, environment(container, docs))
        if needed is None:
            problems.append(f"{where}: drain time not declared (preStop sleep and env)")
        elif grace <= needed:
            problems.append(f"{where}: terminationGracePeriodSeconds {grace} <= drain {needed} s")
    return problems


def _drain_seconds(container: Manifest, env: dict[str, str]) -> int | None:
    """Web: preStop sleep, then uvicorn's graceful shutdown. Worker: arq's wait, then hooks."""
    if role(container) == "serve":
        pre_stop = _pre_stop_seconds(container)
        graceful = _seconds(env, "UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN")
        return None if pre_stop is None or graceful is None else pre_stop + graceful
    wait = _seconds(env, "WORKER_JOB_COMPLETION_WAIT_SECONDS")
    return None if wait is None else wait + WORKER_SHUTDOWN_HOOKS_SECONDS


def _pre_stop_seconds(container: Manifest) -> int | None:
    """The preStop sleep (exec `sleep N` or the sleep action); None without one, which would let
    SIGTERM arrive while the pod is still among the Service's endpoints."""
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = pre_stop.get("exec", {}).get("command", [])
    if len(command) == 2 and command[0].rsplit("/", 1)[-1] == "sleep" and command[1].isdigit():
        return int(command[1])
    return None


def _seconds(env: dict[str, str], name: str) -> int | None:
    value = env.get(name, "")
    return int(value) if value.isdigit() else None


def service_account_token(docs: Docs) -> list[str]:
    """No pod gets a Kubernetes API token."""
    accounts = {a["metadata"]["name"]: a for a in of_kind(docs, "ServiceAccount")}
    problems = [
        f"ServiceAccount {name}: automountServiceAccountToken is not false"
        for name, account in accounts.items()
        if account.get("automountServiceAccountToken") is not False
    ]
    for workload in workloads(docs):
        spec = pod_spec(workload)
        account = accounts.get(spec.get("serviceAccountName", "default"), {})
        if (
            spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken"))
            is not False
        ):
            problems.append(f"{describe(workload)}: mounts a service account token")
    return problems


def redis(docs: Docs) -> list[str]:
    """A Redis run here keeps the queue: AOF persistence and no eviction."""
    problems = []
    for workload in workloads(docs):
        for container in containers(workload):
            argv = [*container.get("command", []), *container.get("args", [])]
            if not any(arg.endswith("redis-server") for arg in argv):
                continue
            options = dict(zip(argv[1::2], argv[2::2], strict=False))
            for option, value in (("--appendonly", "yes"), ("--maxmemory-policy", "noeviction")):
                if options.get(option) != value:
                    problems.append(f"{describe(workload, container)}: {option} is not {value}")
    return problems
