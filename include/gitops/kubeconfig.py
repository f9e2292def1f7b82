"""Which Kubernetes cluster a GitOps run talks to: the kubeconfig it was given, or none.

:func:`resolve` takes an explicit kubeconfig (an operator argument, or an Airflow connection the
hook resolved), else ``$KUBECONFIG`` (the first file of a path list), and asks its API server for
its version:

- it answers: ``CONFIGURED``, a cluster to compare against and sync;
- it does not: ``UNREACHABLE``. A configured cluster names the cluster a run must act on, so
  planning only (or syncing some other cluster) instead would report a sync that never reached
  it: the sync fails, naming the address;
- nothing is configured: ``PLAN_ONLY``: render, validate and plan, and say so loudly.

Nothing here starts a cluster. The local control plane (``scripts/localcluster``) is started by
``make k8s-start``, ``make demo``, ``make airflow`` and ``make stack``, which export its
``KUBECONFIG``; the tests' ``kubeconfig`` fixture does the same.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

SETUP_HINT = (
    "point KUBECONFIG (or the Airflow connection `kubernetes_default`) at a cluster; for the local control plane "
    "built by `make setup`: `make k8s-start`, then `export KUBECONFIG=$DELIVERY_STATE/k8s/kubeconfig` "
    "(`make demo`, `make airflow` and `make stack` do both)"
)


class ClusterMode(str, enum.Enum):
    """Where the cluster of a run comes from."""

    CONFIGURED = "configured"  # a kubeconfig (given, from a connection, or KUBECONFIG) whose server answers
    PLAN_ONLY = "plan-only"  # no cluster configured: render, validate and plan only
    UNREACHABLE = "unreachable"  # a cluster is configured but does not answer: a sync must fail


@dataclass(frozen=True)
class ClusterChoice:
    """The cluster :func:`resolve` picked, and why (``kubeconfig`` is None unless CONFIGURED)."""

    mode: ClusterMode
    kubeconfig: str | None
    message: str
    context: str | None = None
    server: str | None = None

    @property
    def connected(self) -> bool:
        """True when there is a cluster to compare against."""
        return self.kubeconfig is not None


class ClusterUnreachableError(RuntimeError):
    """A configured cluster does not answer (a retry may help once it is back)."""


def probe_kubeconfig(path: str, *, context: str | None = None, timeout: float = 5.0) -> tuple[bool, str]:
    """Ask the API server of a kubeconfig for its version: (reachable, server version or error)."""
    if not Path(path).is_file():
        return False, f"kubeconfig {path} does not exist"
    try:
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(config_file=path, context=context, client_configuration=configuration)
        configuration.retries = False  # a probe: one attempt, not urllib3's retries with back-off
        api_client = client.ApiClient(configuration)
        try:
            info = client.VersionApi(api_client).get_code(_request_timeout=timeout)
        finally:
            api_client.close()
    except Exception as exc:  # any failure (parse, TLS, auth, network) means "not usable"
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    return True, f"Kubernetes {info.git_version}"


def server_of(path: str, context: str | None = None) -> str | None:
    """The API server URL of a kubeconfig's context (for messages), or None."""
    try:
        import yaml

        cfg = yaml.safe_load(Path(path).read_text()) or {}
        ctx_name = context or cfg.get("current-context")
        ctx = next((c["context"] for c in cfg.get("contexts", []) if c.get("name") == ctx_name), {})
        cluster = next((c["cluster"] for c in cfg.get("clusters", []) if c.get("name") == ctx.get("cluster")), {})
        return cluster.get("server")
    except Exception:  # the server is only shown in messages
        return None


def resolve(kubeconfig: str | None = None, *, context: str | None = None, source: str = "") -> ClusterChoice:
    """The cluster of ``kubeconfig`` (else ``$KUBECONFIG``): CONFIGURED, UNREACHABLE or PLAN_ONLY.

    :param source: what gave ``kubeconfig``, for messages (e.g. "the Airflow connection kubernetes_default").
    """
    path = kubeconfig or (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    if not path:
        return ClusterChoice(
            ClusterMode.PLAN_ONLY, None,
            "plan-only: nothing was compared against a cluster, so no drift, apply, prune or health result exists "
            f"for this run (no Airflow connection and no KUBECONFIG). To get a cluster: {SETUP_HINT}.")
    where = (source or "the given kubeconfig") if kubeconfig else "KUBECONFIG"
    ok, detail = probe_kubeconfig(path, context=context)
    server = server_of(path, context)
    if ok:
        return ClusterChoice(ClusterMode.CONFIGURED, path, f"using the cluster of {where} {path} ({server}, {detail})",
                             context=context, server=server)
    return ClusterChoice(
        ClusterMode.UNREACHABLE, None,
        f"the configured cluster does not answer ({where} {path}, {server}: {detail}). Fix the connection or "
        f"kubeconfig (network, credentials, context) or start that cluster (the local one: `make k8s-start`); "
        f"or remove the setting to plan only.",
        context=context, server=server)
