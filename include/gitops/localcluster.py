"""Which Kubernetes cluster a GitOps run talks to, and the local control plane that stands in for one.

The order, from :func:`find_cluster`:

1. the configured cluster: an explicit kubeconfig (an Airflow connection resolved by the hook) or
   ``$KUBECONFIG``, when its API server answers;
2. the local control plane (kube-apiserver + etcd, plus kube-controller-manager, kube-scheduler
   and kwok when built), when its binaries exist: a running one is reused, otherwise it is started;
3. otherwise *plan-only*: nothing can be compared against a cluster, and the message says how to
   get one.

The local control plane runs the binaries the way envtest does: ``KUBEBUILDER_ASSETS`` names the
folder that holds ``kube-apiserver`` and ``etcd`` (default ``$DELIVERY_TOOLS/k8s/<version>/``,
filled by ``scripts/setup.d/30-k8s.sh``). Everything it writes lives in ``state_dir()/k8s/``:
``pki/`` (CA, serving cert, service-account key, admin token), ``etcd/`` (data), ``logs/``,
``kubeconfig`` and ``cluster.json`` (ports and pids). Every port is a free loopback port.

With kube-controller-manager, kube-scheduler and kwok (simulated nodes, as ``kwokctl --runtime
binary`` runs them) a Deployment gets a ReplicaSet, Pods are scheduled on a fake node and marked
Running and Ready, and the Deployment becomes Available; Jobs complete. Without them objects are
stored and served, but nothing reconciles them.

Command line (``scripts/k8s/start.sh`` and ``stop.sh`` call it)::

    python -m include.gitops.localcluster start|stop|status|env [--state DIR] [--no-controllers] [--wipe]

Plain Python: no Airflow import; the ``kubernetes`` client is imported only to probe a configured
kubeconfig, ``cryptography`` only to create certificates.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import enum
import fcntl
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from include.common.paths import PROJECT_ROOT, state_dir, tools_dir

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


class ClusterMode(str, enum.Enum):
    """Where the cluster of a run comes from."""

    KUBECONFIG = "kubeconfig"  # a configured cluster (KUBECONFIG or an Airflow connection)
    LOCAL = "local"  # the local control plane built from Go modules
    PLAN_ONLY = "plan-only"  # no cluster configured: render, validate and plan only
    UNREACHABLE = "unreachable"  # a cluster is configured but does not answer: a sync must fail


@dataclass(frozen=True)
class ClusterChoice:
    """The cluster :func:`find_cluster` picked, and why.

    ``kubeconfig`` is None in plan-only mode; ``notes`` lists the candidates that were skipped.
    """

    mode: ClusterMode
    kubeconfig: str | None
    message: str
    context: str | None = None
    server: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def connected(self) -> bool:
        """True when there is a cluster to compare against."""
        return self.kubeconfig is not None


class ClusterUnreachableError(RuntimeError):
    """A configured cluster does not answer (a retry may help once it is back)."""


class LocalClusterError(RuntimeError):
    """The local control plane could not start (the message carries the component's log tail)."""


@dataclass
class Component:
    """One running process of the local control plane."""

    name: str
    pid: int
    binary: str
    log: str
    port: int | None = None


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


def _server_of(path: str, context: str | None = None) -> str | None:
    try:
        import yaml

        cfg = yaml.safe_load(Path(path).read_text()) or {}
        ctx_name = context or cfg.get("current-context")
        ctx = next((c["context"] for c in cfg.get("contexts", []) if c.get("name") == ctx_name), {})
        cluster = next((c["cluster"] for c in cfg.get("clusters", []) if c.get("name") == ctx.get("cluster")), {})
        return cluster.get("server")
    except Exception:  # the server is only shown in messages
        return None


def find_cluster(
    kubeconfig: str | None = None,
    *,
    context: str | None = None,
    start: bool = True,
    state: Path | str | None = None,
    controllers: bool | None = None,
    fallback: bool = False,
) -> ClusterChoice:
    """Pick the cluster to compare against: configured, else local, else plan-only.

    :param kubeconfig: an explicit kubeconfig (e.g. from an Airflow connection); default ``$KUBECONFIG``
        (the first file of a path list).
    :param context: kubeconfig context to use (default: its current context).
    :param start: start the local control plane when it is built but not running.
    :param state: folder of the local control plane (default ``state_dir()/k8s``).
    :param controllers: passed to :func:`start_local`.
    :param fallback: when the configured cluster does not answer, go on to the local control plane.
        Off by default, for ``$KUBECONFIG`` as for a connection: a configured cluster names the
        cluster a run must act on, and syncing a throwaway local cluster (or planning only)
        instead would report a sync that never reached it. Without it the choice is
        ``UNREACHABLE``, which the sync turns into a failed task naming the address.
    """
    notes: list[str] = []
    configured = kubeconfig or (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    if configured:
        source = "given kubeconfig" if kubeconfig else "KUBECONFIG"
        ok, detail = probe_kubeconfig(configured, context=context)
        server = _server_of(configured, context)
        if ok:
            return ClusterChoice(
                ClusterMode.KUBECONFIG,
                configured,
                f"using the cluster of {source} {configured} ({server}, {detail})",
                context=context,
                server=server,
            )
        notes.append(f"{source} {configured} ({server}) is not reachable: {detail}")
        if not fallback:
            return ClusterChoice(
                ClusterMode.UNREACHABLE,
                None,
                f"the configured cluster does not answer ({notes[0]}). Fix the connection or kubeconfig "
                f"(network, credentials, context) or start that cluster; or remove the setting "
                f"({'the Airflow connection' if kubeconfig else 'unset KUBECONFIG'}) to use the local control plane.",
                context=context,
                server=server,
                notes=tuple(notes),
            )

    if has_local_binaries():
        running = local_status(state)
        if running is None and start:
            try:
                start_local(state=state, controllers=controllers)
            except LocalClusterError as exc:
                notes.append(f"the local control plane did not start: {exc}")
            running = local_status(state)
        if running is not None:
            how = "with controllers and a kwok node" if running.controllers else "API server only"
            return ClusterChoice(
                ClusterMode.LOCAL,
                running.kubeconfig,
                f"using the local control plane (Kubernetes {running.version} at {running.server}, {how}; "
                f"state in {running.root})",
                context=CONTEXT_NAME,
                server=running.server,
                notes=tuple(notes),
            )
        if not start:
            notes.append("the local control plane is built but not running (start it: bash scripts/k8s/start.sh)")
    else:
        notes.append(missing_binaries_message())

    reasons = "; ".join(notes) if notes else "no KUBECONFIG is set"
    return ClusterChoice(
        ClusterMode.PLAN_ONLY,
        None,
        "plan-only: nothing was compared against a cluster, so no drift, apply, prune or health result exists "
        f"for this run ({reasons}). To get a cluster: {SETUP_HINT}.",
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# The local control plane


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (TIME_WAIT leftovers do not count: the
    servers set SO_REUSEADDR, as this probe does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(root: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Free loopback ports, the same ones as last time when they are still free (a stable
    kubeconfig across restarts)."""
    saved_file = root / "ports.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    ports: dict[str, int] = {}
    for name in names:
        port = saved.get(name)
        if not (port and port not in ports.values() and _port_free(port)):
            port = _free_port()
            while port in ports.values():
                port = _free_port()
        ports[name] = port
    saved_file.write_text(json.dumps(ports, indent=2))
    return ports


def _ensure_pki(pki: Path) -> None:
    """CA, API server serving certificate (127.0.0.1, localhost, kubernetes.default...),
    service-account key pair and the admin token; kept across restarts."""
    pki.mkdir(parents=True, exist_ok=True)
    if not (pki / "admin.token").exists():
        (pki / "admin.token").write_text(secrets.token_hex(24))
        (pki / "admin.token").chmod(0o600)
        token = (pki / "admin.token").read_text()
        # token,user,uid,"group1,group2": system:masters may do everything under RBAC.
        (pki / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
    if (pki / "apiserver.crt").exists() and (pki / "sa.key").exists():
        return

    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    def write_key(path: Path, key) -> None:
        path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        path.chmod(0o600)

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "delivery-local-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"]
    ips = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.96.0.1")]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names] + [x509.IPAddress(i) for i in ips]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_key(pki / "ca.key", ca_key)
    (pki / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    write_key(pki / "apiserver.key", server_key)
    (pki / "apiserver.crt").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _write_kubeconfig(path: Path, server: str, pki: Path) -> None:
    ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
    token = (pki / "admin.token").read_text().strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": "admin"}}],
        "current-context": CONTEXT_NAME,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))  # JSON is YAML: every client reads it
    tmp.chmod(0o600)
    tmp.replace(path)


def _api(server: str, pki: Path, method: str, path: str, body: dict | None = None, timeout: float = 5.0):
    """A small HTTPS call to the local API server with the admin token: (status, parsed body or text)."""
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + (pki / "admin.token").read_text().strip())
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=timeout) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        text, status = exc.read().decode(errors="replace"), exc.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


_children: dict[int, subprocess.Popen] = {}


def _alive(pid: int, binary: str | None = None) -> bool:
    """True when pid runs (not a zombie) and, if given, runs that binary (pids get reused)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
        if binary:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            return argv0 == binary
    except (OSError, IndexError):
        return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(content[-lines:])


def _spawn(name: str, binary: Path, args: list[str], logs: Path, port: int | None = None) -> Component:
    log = logs / f"{name}.log"
    with open(log, "ab") as handle:
        handle.write(f"\n--- {dt.datetime.now(dt.timezone.utc).isoformat()} {binary} {' '.join(args)}\n".encode())
        handle.flush()
        # A new session: the control plane outlives the Python process that started it (the demo
        # starts it once), and stop_local() ends each process by its recorded pid.
        child = subprocess.Popen(
            [str(binary), *args], stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )
    _children[child.pid] = child
    return Component(name=name, pid=child.pid, binary=str(binary), log=str(log), port=port)


def _wait(component: Component, ready, what: str, deadline: float) -> None:
    """Poll ready() until True; raise with the log tail when the process died or time ran out."""
    last = ""
    while time.monotonic() < deadline:
        if not _alive(component.pid):
            raise LocalClusterError(
                f"{component.name} exited while starting ({what}). Last lines of {component.log}:\n"
                f"{_tail(Path(component.log))}"
            )
        try:
            ok, last = ready()
            if ok:
                return
        except Exception as exc:  # not listening yet
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise LocalClusterError(
        f"{component.name} was not ready in time ({what}; last answer: {last}). Last lines of {component.log}:\n"
        f"{_tail(Path(component.log))}"
    )


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
    if cluster is None or not all(_alive(c.pid, c.binary) for c in cluster.components):
        return None
    try:
        status, _ = _api(cluster.server, root / "pki", "GET", "/readyz", timeout=3)
    except Exception:
        return None
    return cluster if status == 200 else None


def _stop_components(components: list[Component], timeout: float = 15.0) -> None:
    for comp in reversed(components):  # kwok, scheduler, controller-manager, apiserver, etcd
        if _alive(comp.pid, comp.binary):
            with contextlib.suppress(ProcessLookupError):
                os.kill(comp.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(comp.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(comp.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(comp.pid, signal.SIGKILL)
                time.sleep(0.2)
        child = _children.pop(comp.pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)


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
            _stop_components(stale.components)
            (root / "cluster.json").unlink(missing_ok=True)

        began = time.monotonic()
        deadline = began + timeout
        pki, logs, data = root / "pki", root / "logs", root / "etcd"
        logs.mkdir(exist_ok=True)
        _ensure_pki(pki)
        names = ("etcd", "etcd-peer", "apiserver") + (("controller-manager", "scheduler", "kwok") if with_controllers else ())
        ports = _ports(root, names)
        server = f"https://127.0.0.1:{ports['apiserver']}"
        kubeconfig = root / "kubeconfig"
        _write_kubeconfig(kubeconfig, server, pki)
        started: list[Component] = []
        try:
            etcd_url = f"http://127.0.0.1:{ports['etcd']}"
            peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
            etcd = _spawn("etcd", binaries["etcd"], [
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

            _wait(etcd, etcd_ready, f"GET {etcd_url}/health", deadline)

            admission = [] if with_controllers else ["--disable-admission-plugins=ServiceAccount"]
            apiserver = _spawn("kube-apiserver", binaries["kube-apiserver"], [
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
            _wait(apiserver, lambda: _ok(_api(server, pki, "GET", "/readyz", timeout=3)), f"GET {server}/readyz", deadline)

            if with_controllers:
                common = [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                          f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false",
                          "--bind-address=127.0.0.1"]
                kcm_dir = root / "controller-manager"
                kcm = _spawn("kube-controller-manager", binaries["kube-controller-manager"], [
                    *common, f"--secure-port={ports['controller-manager']}", f"--cert-dir={kcm_dir}",
                    f"--root-ca-file={pki / 'ca.crt'}", f"--service-account-private-key-file={pki / 'sa.key'}",
                    f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--use-service-account-credentials=false",
                ], logs, ports["controller-manager"])
                started.append(kcm)
                scheduler = _spawn("kube-scheduler", binaries["kube-scheduler"], [
                    *common, f"--secure-port={ports['scheduler']}", f"--cert-dir={root / 'scheduler'}",
                ], logs, ports["scheduler"])
                started.append(scheduler)
                # kwok acts as the kubelet of its nodes through Stage objects: the default stages of
                # kwokctl, written next to the kwok binary by the build. No KwokConfiguration object:
                # one given here would not get kwok's defaults (lease parallelism 0 is refused).
                kwok_config = root / "kwok.yaml"
                kwok_config.write_text((folder / KWOK_STAGES).read_text())
                kwok = _spawn("kwok", binaries["kwok"], [
                    f"--kubeconfig={kubeconfig}", f"--config={kwok_config}", "--manage-all-nodes=true",
                    f"--server-address=127.0.0.1:{ports['kwok']}",
                ], logs, ports["kwok"])
                started.append(kwok)
                for comp in (kcm, scheduler):
                    url = f"https://127.0.0.1:{comp.port}/healthz"
                    _wait(comp, lambda url=url: _insecure_ok(url), f"GET {url}", deadline)
                _wait(kwok, lambda: _insecure_ok(f"http://127.0.0.1:{ports['kwok']}/healthz"),
                      f"GET http://127.0.0.1:{ports['kwok']}/healthz", deadline)
                for i in range(nodes):
                    name = f"kwok-node-{i}"
                    status, body = _api(server, pki, "POST", "/api/v1/nodes", _node_manifest(name))
                    if status not in (201, 409):
                        raise LocalClusterError(f"could not register node {name}: HTTP {status} {body}")
                # The ServiceAccount admission plugin refuses Pods until the namespace's `default`
                # ServiceAccount exists: wait for the controller-manager to create it.
                _wait(kcm, lambda: _ok(_api(server, pki, "GET", "/api/v1/namespaces/default/serviceaccounts/default")),
                      "the default ServiceAccount", deadline)
        except BaseException:
            _stop_components(started)
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
            _stop_components(cluster.components)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.gitops.localcluster", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "env", "find"])
    parser.add_argument("--state", help="state folder (default: $DELIVERY_STATE/k8s)")
    parser.add_argument("--no-controllers", action="store_true", help="API server and etcd only")
    parser.add_argument("--wipe", action="store_true", help="with stop: delete data, certificates and logs")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            began = time.monotonic()
            path = start_local(state=args.state, controllers=False if args.no_controllers else None,
                               timeout=args.timeout)
            cluster = local_status(args.state)
            names = ", ".join(c.name for c in cluster.components) if cluster else "?"
            print(f"local control plane ready at {cluster.server if cluster else '?'} ({names}) in "
                  f"{time.monotonic() - began:.1f}s", file=sys.stderr)
            print(path)
        elif args.command == "stop":
            print(stop_local(state=args.state, wipe=args.wipe))
        elif args.command == "status":
            cluster = local_status(args.state)
            if cluster is None:
                print("local control plane: not running", file=sys.stderr)
                return 1
            print(json.dumps(asdict(cluster), indent=2))
        elif args.command == "env":
            cluster = local_status(args.state)
            if cluster is None:
                print("local control plane: not running (start it: bash scripts/k8s/start.sh)", file=sys.stderr)
                return 1
            print(f"export KUBECONFIG={cluster.kubeconfig}\nexport KUBEBUILDER_ASSETS={cluster.assets}")
        else:
            choice = find_cluster(state=args.state, start=False)
            print(json.dumps({**asdict(choice), "mode": choice.mode.value}, indent=2))
    except LocalClusterError as exc:
        print(f"local control plane: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
