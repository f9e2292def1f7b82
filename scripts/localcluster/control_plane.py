"""Start, reuse, inspect and stop the local control plane (kube-apiserver + etcd, and with them
kube-controller-manager, kube-scheduler and kwok when built)."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import ssl
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from include.common.paths import state_dir
from scripts.localcluster.binaries import (CONTROLLER_BINARIES, CORE_BINARIES, KWOK_STAGES, SERVICE_CIDR, SETUP_HINT,
                                           assets_dir, local_binaries, missing_binaries_message, versions)
from scripts.localcluster.pki import api_call, ensure_pki, write_kubeconfig
from scripts.localcluster.processes import (Component, LocalClusterError, alive, spawn, stable_ports, stop_components,
                                            wait_ready)


@dataclass
class LocalCluster:
    """What ``cluster.json`` records about a started local control plane."""

    root: str
    kubeconfig: str
    server: str
    version: str
    assets: str
    started_at: str
    start_seconds: float
    components: list[Component] = field(default_factory=list)

    @property
    def controllers(self) -> bool:
        """True when kube-controller-manager, kube-scheduler and kwok run too."""
        return {c.name for c in self.components} >= set(CONTROLLER_BINARIES)


# --------------------------------------------------------------------------------------------
# Versions and binaries


def _root(state: Path | str | None) -> Path:
    root = Path(state) if state else state_dir() / "k8s"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One start or stop at a time per state folder (parallel tasks may all ask for the cluster)."""
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)



def _read_state(root: Path) -> LocalCluster | None:
    path = root / "cluster.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        data["components"] = [Component(**c) for c in data.get("components", [])]
        return LocalCluster(**data)
    except (ValueError, TypeError):
        return None


def local_status(state: Path | str | None = None) -> LocalCluster | None:
    """The running local control plane of this state folder, or None (not started, a process
    died, or /readyz does not answer ok)."""
    root = _root(state)
    cluster = _read_state(root)
    if cluster is None or not all(alive(c.pid, c.binary) for c in cluster.components):
        return None
    try:
        status, _ = api_call(cluster.server, root / "pki", "GET", "/readyz", timeout=3)
    except Exception:
        return None
    return cluster if status == 200 else None



def _node_manifest(name: str) -> dict:
    """A fake Node that kwok keeps Ready (``--manage-all-nodes``) and that accepts any Pod."""
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": resources, "capacity": resources,
                   "nodeInfo": {"kubeletVersion": versions()["K8S_VERSION"], "operatingSystem": "linux",
                                "architecture": "amd64"}},
    }


def start_local(
    *,
    state: Path | str | None = None,
    assets: Path | str | None = None,
    controllers: bool | None = None,
    nodes: int = 1,
    timeout: float = 120.0,
) -> str:
    """Start (or reuse) the local control plane and return the path of its kubeconfig.

    A running control plane of the same state folder is reused, unless it runs without the
    controllers that are asked for now; then it is restarted on the same data.

    :param state: folder for pki, etcd data, logs, kubeconfig and pids (default ``state_dir()/k8s``).
    :param assets: folder with the binaries (default :func:`assets_dir`, i.e. KUBEBUILDER_ASSETS).
    :param controllers: also run kube-controller-manager, kube-scheduler and kwok; default: when built.
    :param nodes: how many kwok nodes to register (with controllers).
    :param timeout: seconds to wait for every component to be ready.
    :raises LocalClusterError: binaries missing, or a component failed (with its log tail).
    """
    root = _root(state)
    folder = Path(assets) if assets else assets_dir()
    binaries = local_binaries(folder)
    if not all(name in binaries for name in CORE_BINARIES):
        raise LocalClusterError(f"{missing_binaries_message(folder)}. Fix: {SETUP_HINT}")
    missing = [n for n in CONTROLLER_BINARIES if n not in binaries]
    if not (folder / KWOK_STAGES).is_file():
        missing.append(KWOK_STAGES)
    with_controllers = not missing if controllers is None else controllers
    if with_controllers and missing:
        raise LocalClusterError(f"controllers asked for but {', '.join(missing)} not built in {folder}. Fix: {SETUP_HINT}")

    with _locked(root):
        running = local_status(root)
        if running is not None and (running.controllers or not with_controllers):
            return running.kubeconfig
        stale = _read_state(root)
        if stale is not None:  # a half-dead earlier start, or one without the controllers now asked for
            stop_components(stale.components)
            (root / "cluster.json").unlink(missing_ok=True)

        began = time.monotonic()
        deadline = began + timeout
        pki, logs, data = root / "pki", root / "logs", root / "etcd"
        logs.mkdir(exist_ok=True)
        ensure_pki(pki)
        names = ("etcd", "etcd-peer", "apiserver") + (("controller-manager", "scheduler", "kwok") if with_controllers else ())
        ports = stable_ports(root, names)
        server = f"https://127.0.0.1:{ports['apiserver']}"
        kubeconfig = root / "kubeconfig"
        write_kubeconfig(kubeconfig, server, pki)
        started: list[Component] = []
        try:
            etcd_url = f"http://127.0.0.1:{ports['etcd']}"
            peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
            etcd = spawn("etcd", binaries["etcd"], [
                f"--data-dir={data}", "--name=default",
                f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync=true",  # as envtest: a throwaway store, speed over durability
                "--log-level=warn",
            ], logs, ports["etcd"])
            started.append(etcd)

            def etcd_ready():
                with urllib.request.urlopen(etcd_url + "/health", timeout=2) as response:
                    body = json.loads(response.read())
                return body.get("health") == "true", json.dumps(body)

            wait_ready(etcd, etcd_ready, f"GET {etcd_url}/health", deadline)

            admission = [] if with_controllers else ["--disable-admission-plugins=ServiceAccount"]
            apiserver = spawn("kube-apiserver", binaries["kube-apiserver"], [
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={ports['apiserver']}",
                f"--cert-dir={pki}", f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}", f"--token-auth-file={pki / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # The `kubernetes` Service's Endpoints may not point at 127.0.0.1: without this the
                # apiserver logs a rejected endpoint every 10 s. Nothing in-cluster needs them here.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                *admission,
            ], logs, ports["apiserver"])
            started.append(apiserver)
            wait_ready(apiserver, lambda: _ok(api_call(server, pki, "GET", "/readyz", timeout=3)), f"GET {server}/readyz", deadline)

            if with_controllers:
                common = [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                          f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false",
                          "--bind-address=127.0.0.1"]
                kcm_dir = root / "controller-manager"
                kcm = spawn("kube-controller-manager", binaries["kube-controller-manager"], [
                    *common, f"--secure-port={ports['controller-manager']}", f"--cert-dir={kcm_dir}",
                    f"--root-ca-file={pki / 'ca.crt'}", f"--service-account-private-key-file={pki / 'sa.key'}",
                    f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--use-service-account-credentials=false",
                ], logs, ports["controller-manager"])
                started.append(kcm)
                scheduler = spawn("kube-scheduler", binaries["kube-scheduler"], [
                    *common, f"--secure-port={ports['scheduler']}", f"--cert-dir={root / 'scheduler'}",
                ], logs, ports["scheduler"])
                started.append(scheduler)
                # kwok acts as the kubelet of its nodes through Stage objects: the default stages of
                # kwokctl, written next to the kwok binary by the build. No KwokConfiguration object:
                # one given here would not get kwok's defaults (lease parallelism 0 is refused).
                kwok_config = root / "kwok.yaml"
                kwok_config.write_text((folder / KWOK_STAGES).read_text())
                kwok = spawn("kwok", binaries["kwok"], [
                    f"--kubeconfig={kubeconfig}", f"--config={kwok_config}", "--manage-all-nodes=true",
                    f"--server-address=127.0.0.1:{ports['kwok']}",
                ], logs, ports["kwok"])
                started.append(kwok)
                for comp in (kcm, scheduler):
                    url = f"https://127.0.0.1:{comp.port}/healthz"
                    wait_ready(comp, lambda url=url: _insecure_ok(url), f"GET {url}", deadline)
                wait_ready(kwok, lambda: _insecure_ok(f"http://127.0.0.1:{ports['kwok']}/healthz"),
                      f"GET http://127.0.0.1:{ports['kwok']}/healthz", deadline)
                for i in range(nodes):
                    name = f"kwok-node-{i}"
                    status, body = api_call(server, pki, "POST", "/api/v1/nodes", _node_manifest(name))
                    if status not in (201, 409):
                        raise LocalClusterError(f"could not register node {name}: HTTP {status} {body}")
                # The ServiceAccount admission plugin refuses Pods until the namespace's `default`
                # ServiceAccount exists: wait for the controller-manager to create it.
                wait_ready(kcm, lambda: _ok(api_call(server, pki, "GET", "/api/v1/namespaces/default/serviceaccounts/default")),
                      "the default ServiceAccount", deadline)
        except BaseException:
            stop_components(started)
            raise

        cluster = LocalCluster(
            root=str(root), kubeconfig=str(kubeconfig), server=server, version=versions()["K8S_VERSION"],
            assets=str(folder), started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            start_seconds=round(time.monotonic() - began, 2), components=started,
        )
        (root / "cluster.json").write_text(json.dumps(asdict(cluster), indent=2))
        (root / "env.sh").write_text(f"export KUBECONFIG={kubeconfig}\nexport KUBEBUILDER_ASSETS={folder}\n")
        return str(kubeconfig)


def _ok(answer) -> tuple[bool, str]:
    status, body = answer
    return status == 200, f"HTTP {status} {str(body)[:200]}"


def _insecure_ok(url: str) -> tuple[bool, str]:
    """Health endpoints of the controller-manager and scheduler use self-signed certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, context=ctx if url.startswith("https") else None, timeout=2) as response:
        return response.status == 200, f"HTTP {response.status}"


def stop_local(*, state: Path | str | None = None, wipe: bool = False) -> str:
    """Stop the local control plane of this state folder; return its kubeconfig path.

    :param wipe: also delete etcd data, certificates, logs and the kubeconfig (a fresh cluster next time).
    """
    root = _root(state)
    kubeconfig = root / "kubeconfig"
    with _locked(root):
        cluster = _read_state(root)
        if cluster is not None:
            stop_components(cluster.components)
        (root / "cluster.json").unlink(missing_ok=True)
        (root / "env.sh").unlink(missing_ok=True)
        if wipe:
            import shutil

            for name in ("etcd", "pki", "logs", "controller-manager", "scheduler"):
                shutil.rmtree(root / name, ignore_errors=True)
            for name in ("kubeconfig", "ports.json", "kwok.yaml"):
                (root / name).unlink(missing_ok=True)
    return str(kubeconfig)


# --------------------------------------------------------------------------------------------
# Command line

