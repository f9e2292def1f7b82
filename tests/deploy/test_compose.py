"""The full stack (docker-compose.yaml, Dockerfile, .env.example), checked without a Docker engine.

There is no engine on the development and CI machines, so these tests read the files: the
compose file parses and `docker-compose config` accepts it, the services and their start order
are the documented ones (EXPECTED_DEPENDS_ON below and docs/compose.md), every mounted path and
build context exists, images are pinned, the image matches the pinned Airflow, .env.example
holds every secret, and the Git HTTP server copied into the image (scripts/stack/git_http.py, which
the native stack runs too) really clones and pushes. tests/deploy/test_stack.py checks that the native
stack (make stack) agrees with this file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from fixtures._services import require_service

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
GIT_HTTP = ROOT / "scripts" / "stack" / "git_http.py"

# The documented start order (docs/compose.md): service -> {dependency: condition}.
_INFRA = {"postgres": "service_healthy", "redis": "service_healthy"}
_AIRFLOW = {**_INFRA, "airflow-init": "service_completed_successfully"}
EXPECTED_DEPENDS_ON: dict[str, dict[str, str]] = {
    "postgres": {},
    "redis": {},
    "airflow-init": _INFRA,
    "airflow-apiserver": _AIRFLOW,
    "airflow-scheduler": _AIRFLOW,
    "airflow-dag-processor": _AIRFLOW,
    "airflow-triggerer": _AIRFLOW,
    "airflow-worker": {
        **_AIRFLOW,
        "airflow-apiserver": "service_healthy",
        "mlflow": "service_healthy",
        "git": "service_healthy",
        "registry": "service_healthy",
        "docker": "service_healthy",
    },
    "mlflow": {"postgres": "service_healthy", "airflow-init": "service_completed_successfully"},
    "registry": {},
    "git": {"airflow-init": "service_completed_successfully"},
    "k3s": {"registry": "service_started"},
    "docker": {"registry": "service_healthy"},
}
AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
# Connections every Airflow component gets from the compose file (docs/compose.md).
CONNECTIONS = ("MLFLOW_DEFAULT", "KUBERNETES_DEFAULT", "OCI_REGISTRY_DEFAULT", "OPTUNA_DEFAULT")
SECRETS = ("POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY",
           "AIRFLOW_ADMIN_PASSWORD")
HOST_PORTS = {"airflow-apiserver": 8080, "mlflow": 5001, "registry": 5002, "git": 8090, "k3s": 6443}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; $${...} is an escape.
_VAR_RE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yaml as data (anchors and `<<` merges resolved by the YAML loader)."""
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "no services: mapping"
    return data


def _env_example() -> dict[str, str]:
    """The variables .env.example sets (not the commented ones)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _compose_code() -> str:
    """docker-compose.yaml without its comment lines (they may show ${VAR} as an example)."""
    return "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))


def _interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation of ${VAR:-default} with `env`, enough to read image names."""
    env = env or {}

    def repl(match: re.Match) -> str:
        name, op, arg = match.group("name"), match.group("op") or "", match.group("arg")
        if env.get(name):
            return env[name]
        return arg if op in (":-", "-") else ""

    return _VAR_RE.sub(repl, text)


def _service_env(service: dict) -> dict[str, str]:
    """What a container gets: its env_file values (deploy/stack.env), then its environment:, which wins."""
    env: dict[str, str] = {}
    files = service.get("env_file") or []
    for entry in [files] if isinstance(files, str) else files:
        for line in (COMPOSE.parent / entry).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                name, _, value = line.partition("=")
                env[name.strip()] = value.strip()
    env.update({name: str(value) for name, value in (service.get("environment") or {}).items()})
    return env


def _depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short syntax means "started"
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _compose_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        require_service("docker-compose", "it validates docker-compose.yaml without a Docker engine",
                        "run `bash scripts/setup.d/15-compose-tools.sh` as root (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME")}
    for name in _env_example():  # the test decides the values, not the caller's shell
        env.pop(name, None)
    return subprocess.run([binary, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


# --- the file as Compose reads it -----------------------------------------------------------------


def test_docker_compose_config_accepts_the_file():
    proc = _compose_cli(["--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"], cwd=ROOT)
    assert proc.returncode == 0, f"docker-compose config rejected docker-compose.yaml:\n{proc.stderr}"


def test_without_env_file_compose_stops_and_says_how_to_fix(tmp_path):
    """No .env: compose must refuse (secrets are not in the file) and name the fix."""
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yaml")
    proc = _compose_cli(["-f", "docker-compose.yaml", "config", "-q"], cwd=tmp_path)
    assert proc.returncode != 0, "compose accepted the file without secrets: a secret has a default in it"
    assert "cp .env.example .env" in proc.stderr


# --- services and start order -----------------------------------------------------------------------


def test_services_are_the_documented_ones(compose):
    assert sorted(compose["services"]) == sorted(EXPECTED_DEPENDS_ON)


@pytest.mark.parametrize("name", sorted(EXPECTED_DEPENDS_ON))
def test_depends_on_is_as_documented(compose, name):
    assert _depends_on(compose["services"][name]) == EXPECTED_DEPENDS_ON[name]


def test_every_waited_for_service_has_what_the_condition_needs(compose):
    services = compose["services"]
    for name, service in services.items():
        for dep, condition in _depends_on(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; {dep} has no healthcheck"
            if condition == "service_completed_successfully":
                assert "restart" not in services[dep], f"{dep} is a one-shot job; it must not restart"


def test_start_order_has_no_cycle(compose):
    graph = {name: set(_depends_on(svc)) for name, svc in compose["services"].items()}
    done: set[str] = set()
    while graph:
        ready = [name for name, deps in graph.items() if deps <= done]
        assert ready, f"dependency cycle among {sorted(graph)}"
        for name in ready:
            done.add(name)
            del graph[name]


def test_airflow_components_run_their_command_with_a_healthcheck(compose):
    for name, command in AIRFLOW_COMPONENTS.items():
        service = compose["services"][name]
        assert service["command"] == command
        assert "healthcheck" in service and service.get("restart") == "always"
        assert _service_env(service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_host_ports_do_not_clash(compose):
    seen: dict[int, str] = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            host = int(_interpolate(str(port)).split(":")[0])
            assert host not in seen, f"host port {host} is used by {seen[host]} and {name}"
            seen[host] = name
    assert {name: port for port, name in seen.items()} == HOST_PORTS


# --- paths, builds and images -----------------------------------------------------------------------


def test_every_bind_mounted_path_exists_in_the_repo(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = _interpolate(volume if isinstance(volume, str) else volume["source"]).split(":")[0]
            if source.startswith((".", "/", "~")):
                path = (ROOT / source).resolve()
                assert path.exists(), f"{name} mounts {source}, which does not exist in the repo"
                assert path.is_relative_to(ROOT), f"{name} mounts {source}, outside the repo"
            else:
                assert source in declared, f"{name} uses volume {source!r}, not declared under volumes:"


def test_every_build_context_has_its_dockerfile(compose):
    built = 0
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            continue
        built += 1
        spec = {"context": build} if isinstance(build, str) else build
        context = (ROOT / _interpolate(spec["context"])).resolve()
        dockerfile = context / spec.get("dockerfile", "Dockerfile")
        assert context.is_dir(), f"{name}: build context {context} is not a folder"
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
    assert built >= len(AIRFLOW_COMPONENTS)


def test_every_image_is_a_pinned_tag(compose):
    for name, service in compose["services"].items():
        image = _interpolate(service.get("image", ""))
        assert image, f"{name} has no image"
        repo, sep, tag = image.rpartition(":")
        assert sep and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"


def _from_image() -> str:
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert len(froms) == 1, f"expected one FROM in the Dockerfile, found {froms}"
    return froms[0]


def test_dockerfile_from_matches_the_pinned_airflow_and_python():
    pinned = re.search(r"^apache-airflow==(\S+)", (ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)
    assert pinned, "requirements.txt does not pin apache-airflow"
    lock = (ROOT / "requirements.lock").read_text()
    assert f"apache-airflow=={pinned.group(1)}\n" in lock, "requirements.lock is older than requirements.txt"
    python = re.search(r"--python-version (\d+\.\d+)", lock)
    assert python, "requirements.lock does not say its Python version"
    assert _from_image() == f"apache/airflow:{pinned.group(1)}-python{python.group(1)}"


def test_compose_image_name_carries_the_airflow_version(compose):
    version = _from_image().split(":")[1].split("-")[0]
    for name, service in compose["services"].items():
        if "build" in service:
            assert _interpolate(service["image"]).endswith(f":{version}"), name


def test_dockerfile_installs_the_lock_git_and_the_project():
    text = DOCKERFILE.read_text()
    assert re.search(r"^RUN pip install --no-cache-dir -r /opt/airflow/requirements\.lock$", text, re.MULTILINE)
    assert re.search(r"^COPY .*requirements\.lock /opt/airflow/requirements\.lock$", text, re.MULTILINE)
    assert re.search(r"apt-get install .*\bgit\b", text)
    for folder in ("dags", "plugins", "include"):
        assert re.search(rf"^COPY --chown=airflow:0 {folder}/ /opt/airflow/{folder}/$", text, re.MULTILINE), folder


def test_dockerignore_keeps_what_the_image_needs_and_drops_secrets():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in ("requirements.lock", "dags", "plugins", "include"):
        assert needed not in patterns, f".dockerignore drops {needed}, which the Dockerfile copies"
    for secret in (".env", ".venv", ".state", ".git"):
        assert secret in patterns, f".dockerignore must keep {secret} out of the build context"


def test_pythonpath_of_the_image_imports_include_and_delivery(compose):
    """The image's PYTHONPATH, mapped onto this checkout, imports the project's packages."""
    match = re.search(r"PYTHONPATH=(\S+)", DOCKERFILE.read_text())
    assert match, "the Dockerfile does not set PYTHONPATH"
    assert compose["services"]["airflow-worker"]["environment"]["PYTHONPATH"] == match.group(1)
    mapped = os.pathsep.join(p.replace("/opt/airflow", str(ROOT)) for p in match.group(1).split(":"))
    env = {**os.environ, "PYTHONPATH": mapped}
    code = "import include.common.paths as p, delivery as d; print(p.__file__); print(d.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], cwd="/", env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(ROOT / "include/common/paths.py"), str(ROOT / "plugins/delivery/__init__.py")]


# --- secrets, settings and connections --------------------------------------------------------------


def test_env_example_defines_every_variable_without_a_default():
    defined = _env_example()
    required = {m.group("name") for m in _VAR_RE.finditer(_compose_code()) if (m.group("op") or "") in ("", ":?", "?")}
    missing = sorted(required - set(defined))
    assert not missing, f".env.example does not set {missing}"
    assert set(SECRETS) <= required, "a secret has a default in docker-compose.yaml"


def test_env_example_documents_every_variable():
    text = ENV_EXAMPLE.read_text()
    used = {m.group("name") for m in _VAR_RE.finditer(_compose_code())}
    undocumented = sorted(name for name in used if not re.search(rf"^#?\s*{name}=", text, re.MULTILINE))
    assert not undocumented, f"add these to .env.example (commented, with their default): {undocumented}"


def test_env_example_fernet_key_is_valid():
    from cryptography.fernet import Fernet

    Fernet(_env_example()["AIRFLOW_FERNET_KEY"].encode())


def test_connections_reach_the_stack_services(compose):
    services = compose["services"]
    for name in (*AIRFLOW_COMPONENTS, "airflow-init"):
        env = services[name]["environment"]
        for conn in CONNECTIONS:
            assert f"AIRFLOW_CONN_{conn}" in env, f"{name} lacks connection {conn.lower()}"
        assert _interpolate(env["AIRFLOW_CONN_MLFLOW_DEFAULT"]) == "http://mlflow:5000"
        assert _interpolate(env["AIRFLOW_CONN_OCI_REGISTRY_DEFAULT"]).startswith("http://registry:5000")
        assert _interpolate(env["AIRFLOW_CONN_OPTUNA_DEFAULT"]).endswith("@postgres:5432/optuna")
        k8s = json.loads(_interpolate(env["AIRFLOW_CONN_KUBERNETES_DEFAULT"]))
        assert k8s["conn_type"] == "kubernetes"
        assert k8s["extra"]["kube_config_path"] == env["KUBECONFIG"]


def test_the_worker_builds_images_with_the_stack_docker_engine(compose):
    """The docker builder: DOCKER_HOST is the dind service, which may push to the stack registry over HTTP."""
    services = compose["services"]
    env = services["airflow-worker"]["environment"]
    assert env["DOCKER_HOST"] == "tcp://docker:2375" and _interpolate(env["DELIVERY_IMAGE_BUILDER"]) == "docker"
    docker = services["docker"]
    assert docker["privileged"] is True and "--insecure-registry=registry:5000" in docker["command"]
    assert "--host=tcp://0.0.0.0:2375" in docker["command"] and not docker.get("ports")  # not exposed to the host
    assert _interpolate(env["DELIVERY_BASE_IMAGE"]).startswith("python:3.12")
    dockerfile = (ROOT / "include" / "demo" / "app" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile


def test_kubeconfig_written_by_k3s_is_mounted_where_airflow_looks(compose):
    services = compose["services"]
    k3s_mounts = dict(v.split(":")[:2] for v in services["k3s"]["volumes"])
    assert "k3s-kubeconfig" in k3s_mounts
    assert "kubeconfig-compose.yaml" in "".join(services["k3s"]["command"])
    kubeconfig = Path(services["airflow-worker"]["environment"]["KUBECONFIG"])
    for name in AIRFLOW_COMPONENTS:
        mounts = dict(v.split(":")[:2] for v in services[name]["volumes"])
        assert mounts.get("k3s-kubeconfig") == str(kubeconfig.parent), name
    assert services["k3s"]["privileged"] is True


def test_mlflow_store_is_the_shared_postgres_and_the_git_server_serves_the_state_repos(compose):
    services = compose["services"]
    command = [_interpolate(str(part)) for part in services["mlflow"]["command"]]
    store = command[command.index("--backend-store-uri") + 1]
    assert re.fullmatch(r"postgresql\+psycopg2://[^@]+@postgres/mlflow", store)
    repos = services["git"]["environment"]["GIT_PROJECT_ROOT"]
    assert f"git-repos:{repos}" in services["git"]["volumes"]
    assert f"git-repos:{repos}" in services["airflow-worker"]["volumes"]
    assert repos == services["airflow-worker"]["environment"]["DELIVERY_STATE"] + "/repos"


# --- the Git HTTP server copied into the image ------------------------------------------------------


def test_the_image_copies_the_git_http_server_that_the_native_stack_runs():
    """One file, scripts/stack/git_http.py: COPY'd by the Dockerfile and kept by .dockerignore."""
    assert GIT_HTTP.is_file()
    text = DOCKERFILE.read_text()
    assert re.search(r"^COPY --chmod=0644 scripts/stack/git_http\.py /opt/delivery/git_http\.py$", text, re.MULTILINE)
    assert "<<'EOF'" not in text, "the Git HTTP server is a file now, not a heredoc"
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert "!scripts/stack/git_http.py" in patterns, ".dockerignore drops the Git HTTP server the image copies"
    assert patterns.index("!scripts/stack/git_http.py") > patterns.index("scripts"), "the exception must follow `scripts`"
    compose = yaml.safe_load(COMPOSE.read_text())
    command = compose["services"]["git"]["command"]
    assert command[command.index("--chdir") + 1] == "/opt/delivery" and command[-1] == "git_http:app"


def _git_http_source() -> str:
    return GIT_HTTP.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


@pytest.mark.slow
def test_git_http_server_clones_and_pushes(tmp_path):
    """The `git` service's app under gunicorn, as in docker-compose.yaml: clone, commit, push."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists() or shutil.which("git") is None:
        require_service("git HTTP server runtime (git, gunicorn)",
                        "the compose git service runs git http-backend under gunicorn",
                        "run `bash scripts/setup.d/10-python.sh` (gunicorn is in requirements.lock) and apt-get install git")
    app_dir, repos = tmp_path / "app", tmp_path / "repos"
    app_dir.mkdir()
    repos.mkdir()
    (app_dir / "git_http.py").write_text(_git_http_source())
    seed = tmp_path / "seed"
    seed.mkdir()
    _git("init", "-q", "-b", "main", cwd=seed)
    (seed / "README.md").write_text("demo\n")
    _git("add", ".", cwd=seed)
    _git("commit", "-q", "-m", "seed", cwd=seed)
    _git("clone", "-q", "--bare", str(seed), str(repos / "app.git"))

    port = _free_port()
    server = subprocess.Popen(
        [str(gunicorn), "--chdir", str(app_dir), "--bind", f"127.0.0.1:{port}", "--workers", "2", "git_http:app"],
        env={**os.environ, "GIT_PROJECT_ROOT": str(repos)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                listing = urllib.request.urlopen(f"{base}/healthz", timeout=2).read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.2)
        assert listing == "app.git\n"

        work = tmp_path / "work"
        _git("clone", "-q", f"{base}/app.git", str(work))
        assert (work / "README.md").read_text() == "demo\n"
        (work / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # > http.postBuffer: a chunked push
        _git("add", ".", cwd=work)
        _git("commit", "-q", "-m", "change", cwd=work)
        pushed = _git("rev-parse", "HEAD", cwd=work)
        _git("push", "-q", "origin", "main", cwd=work)
        assert _git("--git-dir", str(repos / "app.git"), "rev-parse", "main") == pushed

        # The project's own Git layer (what the pipelines call) works against it too.
        from include.common import git as project_git

        sha = project_git.commit_files(f"{base}/app.git", "main", {"deploy/values.yaml": "replicas: 2\n"}, "bump")
        assert project_git.resolve(f"{base}/app.git", "main") == sha
        assert _git("--git-dir", str(repos / "app.git"), "rev-parse", "main") == sha

        missing = subprocess.run(["git", "ls-remote", f"{base}/nope.git"], capture_output=True, text=True,
                                 env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}, timeout=60)
        assert missing.returncode != 0
    finally:
        server.terminate()
        server.wait(timeout=10)
