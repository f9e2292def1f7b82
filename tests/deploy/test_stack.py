"""The native production stack (make stack, scripts/stack.sh) agrees with docker-compose.yaml.

No process is started here (tests/e2e/test_stack.py starts the real stack). These tests compare
what the two stacks give their Airflow components:

- the compose side is read by this test itself from docker-compose.yaml and deploy/stack.env
  (and, when Debian's docker-compose is installed, from `docker-compose config`);
- the native side is what `bash scripts/stack.sh env <component>` exports, i.e. what
  scripts/stack.sh hands to each process.

Every compose setting must reach the native component with the same value, except for service
addresses (`postgres` -> 127.0.0.1:5432, ...; SERVICE_ADDRESSES below, the documented default
ports) and the few container paths listed in PATHS; the native side may add only the keys in
NATIVE_ONLY. So a changed executor, connection, setting or URL on either side fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from fixtures._services import require_service

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
STACK_ENV = ROOT / "deploy" / "stack.env"
ENV_EXAMPLE = ROOT / ".env.example"
STACK_SH = ROOT / "scripts" / "stack.sh"

# Native component -> the compose service that runs the same command.
COMPONENTS = {
    "api-server": "airflow-apiserver",
    "scheduler": "airflow-scheduler",
    "dag-processor": "airflow-dag-processor",
    "triggerer": "airflow-triggerer",
    "worker1": "airflow-worker",
    "worker2": "airflow-worker",
}
# Where the native stack listens by default (README, scripts/stack.sh): compose service -> address.
SERVICE_ADDRESSES = {
    "postgres": "127.0.0.1:5432",
    "redis": "127.0.0.1:6390",
    "mlflow": "127.0.0.1:8181",
    "git": "127.0.0.1:8182",
    "registry": "127.0.0.1:5000",
    "airflow-apiserver": "127.0.0.1:8180",
}
# Compose's own knobs, defaulted for 2 cores natively (the same variables change both stacks).
KNOBS = {"AIRFLOW_PARALLELISM": "4", "AIRFLOW_WORKER_CONCURRENCY": "2"}
# Keys the native stack adds, and why (anything else it adds is a disagreement).
NATIVE_ONLY = {
    "AIRFLOW_HOME": "the stack's own Airflow home, $DELIVERY_STATE/stack/airflow",
    "AIRFLOW__CORE__DAGS_FOLDER": "the checkout's dags/ (the image's default is /opt/airflow/dags)",
    "AIRFLOW__CORE__PLUGINS_FOLDER": "the checkout's plugins/",
    "AIRFLOW__API__HOST": "127.0.0.1 only",
    "AIRFLOW__API__PORT": "8180, not 8080 (make airflow)",
    "AIRFLOW__API__BASE_URL": "the api-server's URL",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1 only",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "8183, not 8974",
}
WORKER_ONLY = {
    "DELIVERY_WORKER_HOSTNAME": "two workers on one host: the task instance's hostname names the worker",
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "plugins/delivery/hostname.py reads DELIVERY_WORKER_HOSTNAME",
}
# Compose keys that only make sense in a container (the image's entrypoint).
CONTAINER_ONLY = {"DUMB_INIT_SETSID"}
# Compose keys left out natively when the caller does not set them (there is no Docker engine here).
DROPPED = {"DOCKER_HOST", "DELIVERY_IMAGE_BUILDER", "DELIVERY_BASE_IMAGE"}

_VAR_RE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")
_HOST_RE = re.compile(r"(?P<pre>://(?:[^@/\s\"']*@)?)(?P<host>[A-Za-z0-9_.-]+)(?::(?P<port>\d+))?")


# --- the compose side, read here --------------------------------------------------------------------


def _plain_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _compose_variables() -> dict[str, str]:
    return {**KNOBS, **_plain_env_file(ENV_EXAMPLE)}


def _interpolate(text: str, variables: dict[str, str]) -> str:
    def repl(match: re.Match) -> str:
        name, op, arg = match.group("name"), match.group("op") or "", match.group("arg")
        if variables.get(name):
            return variables[name]
        return arg if op in (":-", "-") else ""

    return _VAR_RE.sub(repl, text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_env(compose: dict, service: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    """What the compose service's container gets: env_file, then environment: (which wins)."""
    spec = compose["services"][service]
    variables = _compose_variables() if variables is None else variables
    env: dict[str, str] = {}
    files = spec.get("env_file") or []
    for entry in [files] if isinstance(files, str) else files:
        env.update(_plain_env_file(COMPOSE.parent / entry))
    env.update({k: _interpolate(str(v), variables) for k, v in (spec.get("environment") or {}).items()})
    return env


def _map_hosts(value: str) -> str:
    def repl(match: re.Match) -> str:
        if match.group("host") not in SERVICE_ADDRESSES:
            return match.group(0)
        return match.group("pre") + SERVICE_ADDRESSES[match.group("host")]

    return _HOST_RE.sub(repl, value)


# --- the native side, as scripts/stack.sh exports it ----------------------------------------------


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A caller environment that decides nothing: no STACK_* or compose variables from the shell."""
    drop = set(_plain_env_file(ENV_EXAMPLE)) | set(KNOBS) | DROPPED | {"KUBECONFIG", "MLFLOW_TRACKING_URI",
                                                                        "OCI_REGISTRY_URI", "K8S_NAMESPACE"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACK_") and k not in drop}
    env.update(DELIVERY_STATE=str(tmp_path / "state"), STACK_DIR=str(tmp_path / "stack"), DELIVERY_SKIP_SETUP="1",
               STACK_SECRETS_FILE=str(ENV_EXAMPLE), STACK_KUBECONFIG=str(tmp_path / "kubeconfig"))
    env.update(extra)
    return env


def native_env(component: str, env: dict[str, str]) -> dict[str, str]:
    """The variables `scripts/stack.sh env <component>` exports (evaluated by bash in an empty environment)."""
    proc = subprocess.run(["bash", str(STACK_SH), "env", component], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    probe = subprocess.run(["env", "-i", "bash", "-c", 'eval "$1"; env -0', "-", proc.stdout], capture_output=True,
                           text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    values = dict(item.split("=", 1) for item in probe.stdout.split("\0") if "=" in item)
    for name in ("PWD", "SHLVL", "_", "OLDPWD"):
        values.pop(name, None)
    return values


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("native-stack")
    env = _clean_env(tmp)
    return {"tmp": tmp, "env": env, "components": {name: native_env(name, env) for name in COMPONENTS}}


def disagreements(component: str, compose_side: dict[str, str], native_side: dict[str, str], tmp: Path) -> list[str]:
    """Every way the native component's environment differs from its compose service's."""
    problems = []
    kubeconfig = str(tmp / "kubeconfig")
    paths = {
        "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}",
        "DELIVERY_STATE": str(tmp / "state"),
        "DELIVERY_TOOLS": native_side.get("DELIVERY_TOOLS", "?"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp / "stack/airflow/simple_auth_manager_passwords.json"),
        "KUBECONFIG": kubeconfig,
    }
    for key, value in compose_side.items():
        if key in CONTAINER_ONLY:
            continue
        if key in DROPPED:
            if key in native_side:
                problems.append(f"{component}: {key} is set natively ({native_side[key]!r}) though the caller did not")
            continue
        if key == "AIRFLOW_CONN_KUBERNETES_DEFAULT":
            want = json.loads(value)
            want["extra"]["kube_config_path"] = kubeconfig
            got = json.loads(native_side.get(key, "null") or "null")
            if got != want:
                problems.append(f"{component}: {key}: compose {want}, native {got}")
            continue
        expected = paths.get(key, _map_hosts(value))
        if native_side.get(key) != expected:
            problems.append(f"{component}: {key}: compose {value!r} -> expected {expected!r}, native {native_side.get(key)!r}")
    allowed = set(NATIVE_ONLY) | (set(WORKER_ONLY) if component.startswith("worker") else set())
    for key in sorted(set(native_side) - set(compose_side) - allowed - {"PATH", "HOME"}):
        problems.append(f"{component}: {key}={native_side[key]!r} is set natively only")
    return problems


# --- one shared file ---------------------------------------------------------------------------------


def test_every_airflow_service_and_mlflow_read_the_shared_env_file(compose):
    assert compose["x-airflow-common"]["env_file"] == ["deploy/stack.env"]
    for service in {*COMPONENTS.values(), "airflow-init", "mlflow"}:
        assert compose["services"][service].get("env_file") == ["deploy/stack.env"], service


def test_the_shared_env_file_is_plain_and_holds_no_secret_and_no_address(compose):
    """Plain KEY=value (Compose v1, v2 and bash read it alike); secrets stay in .env, addresses in compose."""
    secrets = set(_plain_env_file(ENV_EXAMPLE))
    for number, line in enumerate(STACK_ENV.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s'\"$]*", line), f"deploy/stack.env:{number}: not plain KEY=value: {line!r}"
    values = _plain_env_file(STACK_ENV)
    assert not set(values) & secrets, f"deploy/stack.env sets a variable of .env: {set(values) & secrets}"
    for key, value in values.items():
        hosts = {m.group("host") for m in _HOST_RE.finditer(value)}
        assert not hosts & set(compose["services"]), f"{key} names a service address; it belongs in docker-compose.yaml"
        assert not re.search(r"(PASSWORD|SECRET|FERNET|TOKEN)", key) or key == "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", key


def test_no_setting_is_written_in_both_files(compose):
    shared = set(_plain_env_file(STACK_ENV))
    for name, service in compose["services"].items():
        twice = shared & set(service.get("environment") or {})
        assert not twice, f"{name} sets {sorted(twice)}, which deploy/stack.env sets already: keep one"


def test_docker_compose_config_gives_every_airflow_service_the_shared_settings():
    """Compose v1 (Debian's 1.29) really reads env_file: the resolved config carries its values."""
    binary = shutil.which("docker-compose")
    if binary is None:
        require_service("docker-compose", "it resolves docker-compose.yaml with its env_file without a Docker engine",
                        "run `bash scripts/setup.d/15-compose-tools.sh` as root (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if k not in _compose_variables() and k != "PYTHONPATH"}
    proc = subprocess.run([binary, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)["services"]
    shared = _plain_env_file(STACK_ENV)
    for service in {*COMPONENTS.values(), "airflow-init", "mlflow"}:
        got = {k: str(v) for k, v in resolved[service]["environment"].items()}
        assert {k: got.get(k) for k in shared} == shared, service
    assert resolved["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


# --- the two stacks agree ----------------------------------------------------------------------------


def test_both_stacks_run_the_celery_executor(compose, native):
    for component, service in COMPONENTS.items():
        assert compose_env(compose, service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert native["components"][component]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", component


def test_both_stacks_define_the_same_connection_ids(compose, native):
    for component, service in COMPONENTS.items():
        compose_ids = {k for k in compose_env(compose, service) if k.startswith("AIRFLOW_CONN_")}
        native_ids = {k for k in native["components"][component] if k.startswith("AIRFLOW_CONN_")}
        assert compose_ids == native_ids == {"AIRFLOW_CONN_MLFLOW_DEFAULT", "AIRFLOW_CONN_KUBERNETES_DEFAULT",
                                             "AIRFLOW_CONN_OCI_REGISTRY_DEFAULT", "AIRFLOW_CONN_OPTUNA_DEFAULT"}


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_every_setting_agrees_but_for_addresses_and_paths(compose, native, component):
    problems = disagreements(component, compose_env(compose, COMPONENTS[component]), native["components"][component],
                             native["tmp"])
    assert not problems, "the native stack and docker-compose.yaml disagree:\n" + "\n".join(problems)


def test_the_native_connections_point_at_the_native_services(native):
    env = native["components"]["worker1"]
    assert env["AIRFLOW_CONN_MLFLOW_DEFAULT"] == env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:8181"
    assert env["AIRFLOW_CONN_OPTUNA_DEFAULT"].endswith("@127.0.0.1:5432/optuna")
    assert env["AIRFLOW_CONN_OCI_REGISTRY_DEFAULT"] == "http://127.0.0.1:5000?insecure=true"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@127.0.0.1:6390/0"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8180/execution/"
    assert env["DELIVERY_GIT_BASE_URL"] == "http://127.0.0.1:8182"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4" and env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"
    assert env["DELIVERY_WORKER_HOSTNAME"] == f"worker1@{socket.gethostname()}"
    assert native["components"]["worker2"]["DELIVERY_WORKER_HOSTNAME"] == f"worker2@{socket.gethostname()}"


def test_the_check_fails_when_one_side_changes_a_setting(compose, native):
    """The comparison above is not a tautology: a changed value, a missing or an extra key is caught."""
    compose_side = compose_env(compose, "airflow-worker")
    good = native["components"]["worker1"]
    assert disagreements("worker1", compose_side, good, native["tmp"]) == []
    for change in ({"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}, {"AIRFLOW__CORE__LOAD_EXAMPLES": "true"},
                   {"AIRFLOW__CORE__PARALLELISM": "32"}, {"AIRFLOW_CONN_MLFLOW_DEFAULT": "http://127.0.0.1:5001"},
                   {"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": None}, {"AIRFLOW_CONN_EXTRA_DEFAULT": "http://x"}):
        changed = {**good, **{k: v for k, v in change.items() if v is not None}}
        for key in [k for k, v in change.items() if v is None]:
            changed.pop(key)
        assert disagreements("worker1", compose_side, changed, native["tmp"]), f"not caught: {change}"
    compose_changed = {**compose_side, "AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor"}
    assert disagreements("worker1", compose_changed, good, native["tmp"]), "a compose change is not caught"


def test_the_native_stack_follows_a_change_of_the_compose_files(tmp_path):
    """Derived, not copied: edit (copies of) docker-compose.yaml and deploy/stack.env, and the native stack follows."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "stack.env").write_text(
        STACK_ENV.read_text().replace("AIRFLOW__CORE__EXECUTOR=CeleryExecutor", "AIRFLOW__CORE__EXECUTOR=EdgeExecutor"))
    (tmp_path / "docker-compose.yaml").write_text(
        COMPOSE.read_text().replace("AIRFLOW_CONN_MLFLOW_DEFAULT: ${MLFLOW_TRACKING_URI:-http://mlflow:5000}",
                                    "AIRFLOW_CONN_MLFLOW_DEFAULT: http://mlflow:5000/changed"))
    env = native_env("scheduler", _clean_env(tmp_path, STACK_COMPOSE_FILE=str(tmp_path / "docker-compose.yaml")))
    assert env["AIRFLOW__CORE__EXECUTOR"] == "EdgeExecutor"
    assert env["AIRFLOW_CONN_MLFLOW_DEFAULT"] == "http://127.0.0.1:8181/changed"


def test_a_compose_address_the_native_stack_does_not_run_is_refused(tmp_path):
    (tmp_path / "deploy").mkdir()
    shutil.copy(STACK_ENV, tmp_path / "deploy" / "stack.env")
    (tmp_path / "docker-compose.yaml").write_text(
        COMPOSE.read_text().replace("DELIVERY_GIT_BASE_URL: http://git:8000", "DELIVERY_GIT_BASE_URL: http://k3s:8000"))
    proc = subprocess.run(["bash", str(STACK_SH), "env"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=_clean_env(tmp_path, STACK_COMPOSE_FILE=str(tmp_path / "docker-compose.yaml")))
    assert proc.returncode == 1
    assert "DELIVERY_GIT_BASE_URL" in proc.stderr and "'k3s'" in proc.stderr and "stack_env.py" in proc.stderr


def test_mlflow_and_git_servers_run_the_compose_commands_on_loopback(compose, tmp_path):
    proc = subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/stack/stack_env.py"), "json"], cwd=ROOT,
                          env=_clean_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    procs = json.loads(proc.stdout)["components"]
    mlflow, compose_mlflow = procs["mlflow"]["argv"], [_interpolate(str(a), _compose_variables())
                                                      for a in compose["services"]["mlflow"]["command"]]
    assert mlflow[:2] == ["mlflow", "server"] and "--serve-artifacts" in mlflow
    store = mlflow[mlflow.index("--backend-store-uri") + 1]
    assert store == _map_hosts(compose_mlflow[compose_mlflow.index("--backend-store-uri") + 1])
    assert store.startswith("postgresql+psycopg2://") and store.endswith("@127.0.0.1:5432/mlflow")
    assert mlflow[mlflow.index("--artifacts-destination") + 1] == str(tmp_path / "stack/mlflow/artifacts")
    assert mlflow[mlflow.index("--host") + 1] == "127.0.0.1"
    git = procs["git"]
    assert git["argv"][0] == "gunicorn" and git["argv"][-1] == compose["services"]["git"]["command"][-1]
    assert git["argv"][git["argv"].index("--chdir") + 1] == str(ROOT / "scripts" / "stack")
    assert git["argv"][git["argv"].index("--bind") + 1] == "127.0.0.1:8182"
    assert git["env"]["GIT_PROJECT_ROOT"] == str(tmp_path / "state" / "repos")
    workers = [procs[w]["argv"] for w in ("worker1", "worker2")]
    assert workers[0][:3] == ["airflow", "celery", "worker"]
    assert {w[w.index("--celery-hostname") + 1] for w in workers} == {"worker1@%h", "worker2@%h"}


# --- the script's messages ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_port_already_taken_is_refused_before_anything_starts(tmp_path):
    ports = {name: str(_free_port()) for name in ("STACK_MLFLOW_PORT", "STACK_GIT_PORT", "STACK_REDIS_PORT",
                                                  "STACK_SCHEDULER_HEALTH_PORT")}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        proc = subprocess.run(["bash", str(STACK_SH), "start"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env=_clean_env(tmp_path, STACK_API_PORT=str(port), STACK_K8S="0", **ports))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"port {port} (api-server) is already in use" in proc.stderr
    assert "STACK_API_PORT" in proc.stderr
    assert not list((tmp_path / "stack" / "run").glob("*.pid")), "something was started"


def test_stop_and_status_of_a_stack_that_never_ran(tmp_path):
    env = _clean_env(tmp_path)
    stop = subprocess.run(["bash", str(STACK_SH), "stop"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0 and "not running" in stop.stdout
    status = subprocess.run(["bash", str(STACK_SH), "status"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert status.returncode == 1 and "not running" in status.stdout
    usage = subprocess.run(["bash", str(STACK_SH), "restart"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 2 and "start|stop|status|env" in usage.stderr
