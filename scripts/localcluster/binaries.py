"""The local control plane's binaries: pinned versions, where they are built, which exist."""

from __future__ import annotations

import os
from pathlib import Path

from include.common.paths import PROJECT_ROOT, tools_dir

VERSIONS_FILE = PROJECT_ROOT / "scripts" / "k8s" / "versions.env"
CORE_BINARIES = ("kube-apiserver", "etcd")
CONTROLLER_BINARIES = ("kube-controller-manager", "kube-scheduler", "kwok")
KWOK_STAGES = "kwok-stages.yaml"  # kwokctl's default Stage objects, written by scripts/k8s/build.sh
CONTEXT_NAME = "delivery-local"
SERVICE_CIDR = "10.96.0.0/16"
SETUP_HINT = (
    "build the local control plane with `make setup` (or `bash scripts/setup.d/30-k8s.sh`; needs Go >= 1.26), "
    "or point KUBECONFIG (or the Airflow connection `kubernetes_default`) at a cluster"
)



def versions() -> dict[str, str]:
    """The pinned versions of ``scripts/k8s/versions.env`` (K8S_VERSION, ETCD_VERSION, ...)."""
    result: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            result[key.strip()] = value.strip()
    return result


def assets_dir(version: str | None = None) -> Path:
    """The KUBEBUILDER_ASSETS folder: ``$KUBEBUILDER_ASSETS`` if it holds kube-apiserver, else
    ``$DELIVERY_TOOLS/k8s/<version>/``."""
    env = os.environ.get("KUBEBUILDER_ASSETS")
    if env and (Path(env) / "kube-apiserver").is_file():
        return Path(env)
    return tools_dir() / "k8s" / (version or versions()["K8S_VERSION"])


def local_binaries(assets: Path | None = None) -> dict[str, Path]:
    """The control-plane binaries that exist in the assets folder, by name."""
    folder = Path(assets) if assets else assets_dir()
    found = {}
    for name in CORE_BINARIES + CONTROLLER_BINARIES + ("kubectl",):
        path = folder / name
        if path.is_file() and os.access(path, os.X_OK):
            found[name] = path
    return found


def has_local_binaries(assets: Path | None = None) -> bool:
    """True when kube-apiserver and etcd are built (the minimum for a local API server)."""
    return all(name in local_binaries(assets) for name in CORE_BINARIES)


def missing_binaries_message(assets: Path | None = None) -> str:
    folder = Path(assets) if assets else assets_dir()
    return f"kube-apiserver and etcd are not built in {folder}"


# --------------------------------------------------------------------------------------------
# Choosing a cluster
