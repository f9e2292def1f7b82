"""The native production stack's settings, derived from docker-compose.yaml (read by scripts/stack.sh).

The native stack (``make stack``) runs the topology of docker-compose.yaml from Debian packages
and the project venv on 127.0.0.1. Its settings are not written a second time; they are taken
from the compose file, so the two stacks cannot drift apart:

1. ``deploy/stack.env``: what is the same everywhere (executor, auth manager, users, ...).
   Compose reads it with ``env_file:``; this module reads the ``env_file`` list of the compose
   file's ``x-airflow-common`` and then those files.
2. ``environment:`` of ``x-airflow-common``: the keys that hold a secret, a service address or a
   container path (database and broker URLs, the ``AIRFLOW_CONN_*`` connections, the execution
   API URL). They are taken as Compose would take them, interpolated with the same variables
   (``.env``, else the local defaults of ``.env.example``; the shell wins, as with Compose), then

   - every compose service address in a URL (``postgres``, ``redis``, ``mlflow``, ``git``,
     ``registry``, ``airflow-apiserver``) becomes the native ``127.0.0.1:<port>``
     (:func:`addresses`; ``STACK_DB_PREFIX`` also prefixes the PostgreSQL database names);
   - the few values that name a container path or a container-only service are replaced or
     dropped, each with its reason (:data:`NATIVE_VALUES`).
3. Keys only the native stack needs (its Airflow home, its ports on 127.0.0.1) are added
   (:func:`native_only`); nothing else is.

The MLflow and Git servers' command lines are the compose services' commands with the native
address, port and folders (:func:`components`). tests/deploy/test_stack.py checks all of this
against docker-compose.yaml.

Command line::

    python scripts/stack/stack_env.py shell       # bash: exports, command lines (scripts/stack.sh sources it)
    python scripts/stack/stack_env.py json        # the same as JSON (tests, debugging)
    python scripts/stack/stack_env.py databases   # create the stack's PostgreSQL databases if missing

Inputs (environment, all optional): ``STACK_API_PORT`` (8180), ``STACK_MLFLOW_PORT`` (8181),
``STACK_GIT_PORT`` (8182), ``STACK_SCHEDULER_HEALTH_PORT`` (8183), ``STACK_REDIS_PORT`` (6390),
``STACK_POSTGRES_HOST``/``STACK_POSTGRES_PORT`` (127.0.0.1:5432), ``DELIVERY_REGISTRY_ADDR``
(127.0.0.1:5000), ``STACK_DB_PREFIX`` (empty), ``STACK_KUBECONFIG`` (empty: plan-only),
``STACK_MLFLOW_WORKERS`` (1), ``STACK_SECRETS_FILE``, ``STACK_COMPOSE_FILE``, ``STACK_DIR``.
Plain stdlib plus PyYAML (and psycopg2 for ``databases``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Defaults of compose's own knobs, sized for the 2-core machines the native stack runs on
# (docker-compose.yaml's defaults, 8 and 4, are for a bigger Docker host). Set the same variables
# (shell or .env) to change both stacks: AIRFLOW_PARALLELISM, AIRFLOW_WORKER_CONCURRENCY.
KNOB_DEFAULTS = {"AIRFLOW_PARALLELISM": "4", "AIRFLOW_WORKER_CONCURRENCY": "2"}

# The two Celery workers of the native stack (docker-compose.yaml runs one worker container;
# `docker compose up --scale airflow-worker=2` is its equivalent).
WORKERS = ("worker1", "worker2")

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR; $$ is a literal $.
_VAR_RE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
# scheme://[user[:password]@]host[:port][/path]
_URL_RE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<auth>[^@/?#\s\"']*@)?(?P<host>[A-Za-z0-9_.-]+)(?::(?P<port>\d+))?"
    r"(?P<path>/[^?#\s\"']*)?"
)


class StackConfigError(RuntimeError):
    """A setting cannot be derived; the message says which and what to do."""


# ----------------------------------------------------------------------------- reading files


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of an env file (comments and blank lines skipped, one level of quotes removed)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise StackConfigError(f"{path}:{number}: not a KEY=value line: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def interpolate(text: str, variables: dict[str, str], where: str = "") -> str:
    """Compose's interpolation of ``text`` with ``variables`` (an unset ``${VAR:?msg}`` raises)."""

    def repl(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg") or ""
        value = variables.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise StackConfigError(f"{where or 'docker-compose.yaml'}: {name} is not set: {arg}")
        return value or ""

    return _VAR_RE.sub(repl, text)


def _yaml():
    try:
        import yaml
    except ImportError as exc:  # the venv has it (requirements.lock)
        raise StackConfigError("PyYAML is missing: run with the project venv (.venv/bin/python)") from exc
    return yaml


# ----------------------------------------------------------------------------- the context


@dataclass
class Context:
    """Where the native stack lives and listens; every field can be set from the environment."""

    root: Path = PROJECT_ROOT
    compose_file: Path = PROJECT_ROOT / "docker-compose.yaml"
    secrets_file: Path = PROJECT_ROOT / ".env.example"
    state: Path = PROJECT_ROOT / ".state"
    tools: Path = PROJECT_ROOT / ".state" / "tools"
    stack_dir: Path = PROJECT_ROOT / ".state" / "stack"
    api_port: int = 8180
    mlflow_port: int = 8181
    git_port: int = 8182
    scheduler_health_port: int = 8183
    redis_port: int = 6390
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    registry_addr: str = "127.0.0.1:5000"
    db_prefix: str = ""
    kubeconfig: str = ""
    mlflow_workers: int = 1
    hostname: str = field(default_factory=socket.gethostname)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> "Context":
        env = dict(os.environ if environ is None else environ)
        root = Path(env.get("PROJECT_ROOT") or PROJECT_ROOT)
        state = Path(env.get("DELIVERY_STATE") or root / ".state")
        secrets = env.get("STACK_SECRETS_FILE") or str(root / ".env" if (root / ".env").exists() else root / ".env.example")

        def port(name: str, default: int) -> int:
            value = env.get(name) or str(default)
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise StackConfigError(f"{name}={value!r} is not a TCP port (1-65535)")
            return int(value)

        prefix = env.get("STACK_DB_PREFIX", "")
        if not re.fullmatch(r"[a-z0-9_]*", prefix):
            raise StackConfigError(f"STACK_DB_PREFIX={prefix!r}: use lower-case letters, digits and _ only")
        return cls(
            root=root,
            compose_file=Path(env.get("STACK_COMPOSE_FILE") or root / "docker-compose.yaml"),
            secrets_file=Path(secrets),
            state=state,
            tools=Path(env.get("DELIVERY_TOOLS") or root / ".state" / "tools"),
            stack_dir=Path(env.get("STACK_DIR") or state / "stack"),
            api_port=port("STACK_API_PORT", 8180),
            mlflow_port=port("STACK_MLFLOW_PORT", 8181),
            git_port=port("STACK_GIT_PORT", 8182),
            scheduler_health_port=port("STACK_SCHEDULER_HEALTH_PORT", 8183),
            redis_port=port("STACK_REDIS_PORT", 6390),
            postgres_host=env.get("STACK_POSTGRES_HOST") or "127.0.0.1",
            postgres_port=port("STACK_POSTGRES_PORT", 5432),
            registry_addr=env.get("DELIVERY_REGISTRY_ADDR") or "127.0.0.1:5000",
            db_prefix=prefix,
            kubeconfig=env.get("STACK_KUBECONFIG", ""),
            mlflow_workers=port("STACK_MLFLOW_WORKERS", 1),
            environ=env,
        )

    @property
    def airflow_home(self) -> Path:
        return self.stack_dir / "airflow"

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.stack_dir / "mlflow" / "artifacts"

    @property
    def repos(self) -> Path:
        return self.state / "repos"

    def variables(self) -> dict[str, str]:
        """What compose would interpolate with: the secrets file, then the shell (which wins)."""
        if not self.secrets_file.exists():
            raise StackConfigError(f"the secrets file {self.secrets_file} does not exist: cp .env.example .env, "
                                   "or set STACK_SECRETS_FILE")
        return {**KNOB_DEFAULTS, **read_env_file(self.secrets_file), **self.environ}


def addresses(ctx: Context) -> dict[str, str]:
    """Compose service name -> the native ``host:port`` that replaces it in every URL."""
    return {
        "postgres": f"{ctx.postgres_host}:{ctx.postgres_port}",
        "redis": f"127.0.0.1:{ctx.redis_port}",
        "mlflow": f"127.0.0.1:{ctx.mlflow_port}",
        "git": f"127.0.0.1:{ctx.git_port}",
        "registry": ctx.registry_addr,
        "airflow-apiserver": f"127.0.0.1:{ctx.api_port}",
    }


def map_addresses(value: str, ctx: Context) -> str:
    """``value`` with each compose service address in a URL replaced by the native one."""
    native = addresses(ctx)

    def repl(match: re.Match) -> str:
        host = match.group("host")
        if host not in native:
            return match.group(0)
        path = match.group("path") or ""
        if host == "postgres" and ctx.db_prefix and len(path) > 1:
            path = "/" + ctx.db_prefix + path[1:]
        return f"{match.group('scheme')}{match.group('auth') or ''}{native[host]}{path}"

    return _URL_RE.sub(repl, value)


# ----------------------------------------------------------------------------- the compose side


def load_compose(ctx: Context) -> dict:
    data = _yaml().safe_load(ctx.compose_file.read_text())
    if not isinstance(data, dict) or "x-airflow-common" not in data:
        raise StackConfigError(f"{ctx.compose_file} has no x-airflow-common block")
    return data


def compose_settings(ctx: Context, compose: dict | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(env_file settings, environment settings) of x-airflow-common, interpolated as Compose would."""
    compose = compose or load_compose(ctx)
    common = compose["x-airflow-common"]
    files = common.get("env_file") or []
    files = [files] if isinstance(files, str) else files
    shared: dict[str, str] = {}
    for entry in files:
        path = entry if isinstance(entry, str) else entry["path"]
        shared.update(read_env_file(ctx.compose_file.parent / path))
    variables = ctx.variables()
    environment = {
        name: interpolate(str(value), variables, f"{ctx.compose_file.name} x-airflow-common {name}")
        for name, value in (common.get("environment") or {}).items()
    }
    return shared, environment


# ----------------------------------------------------------------------------- the native side


def _kubernetes_conn(value: str, ctx: Context) -> str | None:
    if not ctx.kubeconfig:
        return None
    conn = json.loads(value)
    conn.setdefault("extra", {})["kube_config_path"] = ctx.kubeconfig
    return json.dumps(conn)


def _from_caller(name: str) -> Callable[[str, Context], str | None]:
    return lambda value, ctx: ctx.environ.get(name) or None


# Keys of docker-compose.yaml whose value names a container path or a container-only service:
# key -> (native value from (compose value, context), or None to leave the key out; why).
NATIVE_VALUES: dict[str, tuple[Callable[[str, Context], str | None], str]] = {
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": (
        lambda value, ctx: str(ctx.password_file), "a file in the stack's Airflow home (written at start)"),
    "PYTHONPATH": (lambda value, ctx: f"{ctx.root}:{ctx.root / 'plugins'}",
                   "the checkout instead of /opt/airflow: include.* and delivery.* import the same way"),
    "DELIVERY_STATE": (lambda value, ctx: str(ctx.state), "the state folder of the checkout"),
    "DELIVERY_TOOLS": (lambda value, ctx: str(ctx.tools), "the built tools of the checkout"),
    "KUBECONFIG": (lambda value, ctx: ctx.kubeconfig or None,
                   "the local control plane's kubeconfig (scripts/k8s/start.sh) instead of k3s's; unset: plan-only"),
    "AIRFLOW_CONN_KUBERNETES_DEFAULT": (_kubernetes_conn, "the same connection, kube_config_path = that kubeconfig"),
    "DOCKER_HOST": (_from_caller("DOCKER_HOST"),
                    "the Docker-in-Docker service does not exist natively; the caller's DOCKER_HOST if set"),
    "DELIVERY_IMAGE_BUILDER": (_from_caller("DELIVERY_IMAGE_BUILDER"),
                               "the caller's, else auto (buildah here: there is no Docker engine)"),
    "DELIVERY_BASE_IMAGE": (_from_caller("DELIVERY_BASE_IMAGE"),
                            "the caller's, else the local debootstrap base image of buildah (no Docker Hub here)"),
}


def native_only(ctx: Context) -> dict[str, str]:
    """Keys the compose file does not need (container defaults) that a process on this machine does."""
    return {
        "AIRFLOW_HOME": str(ctx.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ctx.root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ctx.root / "plugins"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ctx.api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{ctx.api_port}",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ctx.scheduler_health_port),
    }


# Variables scripts/env.sh exports for the embedded default that must not reach the stack
# (SQLite connect args would be handed to psycopg2).
_EMBEDDED_ONLY = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC")


@dataclass
class NativeStack:
    env: dict[str, str]
    removed: dict[str, str]
    unset: list[str]
    components: dict[str, dict]
    urls: dict[str, str]
    databases: list[dict[str, str]]

    def as_json(self) -> dict:
        return {"env": self.env, "removed": self.removed, "unset": self.unset, "components": self.components,
                "urls": self.urls, "databases": self.databases}


def _option(argv: list[str], flag: str, value: str) -> list[str]:
    """``argv`` with the value after ``flag`` replaced (the flag must be there)."""
    if flag not in argv:
        raise StackConfigError(f"docker-compose.yaml: the command {argv} has no {flag}")
    out = list(argv)
    out[out.index(flag) + 1] = value
    return out


def _service_argv(compose: dict, name: str, variables: dict[str, str]) -> list[str]:
    service = compose["services"][name]
    entry = service.get("entrypoint") or []
    entry = shlex.split(entry) if isinstance(entry, str) else list(entry)
    command = service.get("command") or []
    command = shlex.split(command) if isinstance(command, str) else list(command)
    return [interpolate(str(part), variables, f"services.{name}") for part in entry + command]


def _database(url: str, purpose: str) -> dict[str, str]:
    parts = urlsplit(url.removeprefix("db+"))
    return {"purpose": purpose, "url": url, "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""), "host": parts.hostname or "", "port": str(parts.port or 5432),
            "name": parts.path.lstrip("/")}


def components(ctx: Context, compose: dict) -> dict[str, dict]:
    """Each process of the stack: its command line and the environment it adds to ``env``."""
    variables = ctx.variables()
    mlflow = _service_argv(compose, "mlflow", variables)
    if mlflow[:2] != ["mlflow", "server"]:
        raise StackConfigError(f"docker-compose.yaml: the mlflow service runs {mlflow[:2]}, not mlflow server")
    mlflow = _option(mlflow, "--backend-store-uri", map_addresses(mlflow[mlflow.index("--backend-store-uri") + 1], ctx))
    mlflow = _option(mlflow, "--artifacts-destination", str(ctx.mlflow_artifacts))
    mlflow = _option(mlflow, "--host", "127.0.0.1")
    mlflow = _option(mlflow, "--port", str(ctx.mlflow_port))
    mlflow += ["--workers", str(ctx.mlflow_workers)]  # compose: mlflow's default (4); 2 cores here (one
    # worker is ~30 cpu-s less at start; it serves concurrent requests on its own)

    git = _service_argv(compose, "git", variables)
    if git[0] != "gunicorn":
        raise StackConfigError(f"docker-compose.yaml: the git service runs {git[0]}, not gunicorn")
    git = _option(git, "--chdir", str(ctx.root / "scripts" / "stack"))
    git = _option(git, "--bind", f"127.0.0.1:{ctx.git_port}")
    git_env = {name: str(value) for name, value in (compose["services"]["git"].get("environment") or {}).items()}
    if "GIT_PROJECT_ROOT" not in git_env:
        raise StackConfigError("docker-compose.yaml: the git service has no GIT_PROJECT_ROOT")
    git_env["GIT_PROJECT_ROOT"] = str(ctx.repos)  # compose: the same repos, state/repos of the volume

    redis_conf = ctx.stack_dir / "redis" / "redis.conf"
    out: dict[str, dict] = {
        "redis": {"argv": ["redis-server", str(redis_conf)], "env": {}},
        "mlflow": {"argv": mlflow, "env": {}},
        "git": {"argv": git, "env": git_env},
        # The same commands as the compose services airflow-apiserver, -scheduler, -dag-processor
        # and -triggerer; the log servers are off (--skip-serve-logs) because every process writes
        # its logs below the same AIRFLOW_HOME, which the api-server reads directly.
        "api-server": {"argv": ["airflow", "api-server"], "env": {}},
        "scheduler": {"argv": ["airflow", "scheduler"], "env": {}},
        "dag-processor": {"argv": ["airflow", "dag-processor"], "env": {}},
        "triggerer": {"argv": ["airflow", "triggerer", "--skip-serve-logs"], "env": {}},
    }
    for worker in WORKERS:
        out[worker] = {
            "argv": ["airflow", "celery", "worker", "--celery-hostname", f"{worker}@%h", "--skip-serve-logs"],
            # Two workers share this machine's host name: a task instance's `hostname` names the
            # worker that ran it (plugins/delivery/hostname.py).
            "env": {"DELIVERY_WORKER_HOSTNAME": f"{worker}@{ctx.hostname}",
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "delivery.hostname.get_hostname"},
        }
    return out


def native_stack(ctx: Context | None = None) -> NativeStack:
    """The native stack's environment, processes, URLs and databases, derived from docker-compose.yaml."""
    ctx = ctx or Context.from_environ()
    compose = load_compose(ctx)
    shared, environment = compose_settings(ctx, compose)
    overlap = sorted(set(shared) & set(environment))
    if overlap:
        raise StackConfigError(f"{overlap} are set both in deploy/stack.env and in docker-compose.yaml: keep one")
    env: dict[str, str] = dict(shared)
    removed: dict[str, str] = {}
    services = set(compose.get("services") or {})
    for name, value in environment.items():
        if name in NATIVE_VALUES:
            make, why = NATIVE_VALUES[name]
            native = make(value, ctx)
            if native is None:
                removed[name] = why
                continue
            env[name] = native
            continue
        mapped = map_addresses(value, ctx)
        for match in _URL_RE.finditer(mapped):
            if match.group("host") in services:
                raise StackConfigError(
                    f"docker-compose.yaml sets {name} to an address of the service {match.group('host')!r}, which "
                    "the native stack does not run: add it to addresses() or NATIVE_VALUES in scripts/stack/stack_env.py")
        env[name] = mapped
    env.update(native_only(ctx))
    unset = list(_EMBEDDED_ONLY)  # always: the stack's metadata DB is PostgreSQL, whoever calls it
    procs = components(ctx, compose)
    mlflow_store = procs["mlflow"]["argv"][procs["mlflow"]["argv"].index("--backend-store-uri") + 1]
    databases = [_database(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], "Airflow metadata and Celery results"),
                 _database(mlflow_store, "MLflow backend store")]
    optuna = env.get("AIRFLOW_CONN_OPTUNA_DEFAULT", "")
    if optuna.startswith("postgres"):
        databases.append(_database(optuna, "Optuna studies"))
    urls = {
        "api": f"http://127.0.0.1:{ctx.api_port}",
        "mlflow": f"http://127.0.0.1:{ctx.mlflow_port}",
        "git": f"http://127.0.0.1:{ctx.git_port}",
        "scheduler_health": f"http://127.0.0.1:{ctx.scheduler_health_port}/health",
        "redis": f"redis://127.0.0.1:{ctx.redis_port}/0",
        "registry": f"http://{ctx.registry_addr}",
    }
    return NativeStack(env=env, removed=removed, unset=unset, components=procs, urls=urls, databases=databases)


# ----------------------------------------------------------------------------- output


def _var(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name)


def shell(stack: NativeStack, ctx: Context) -> str:
    """Bash that scripts/stack.sh sources: exports, unsets, and per-component arrays."""
    q = shlex.quote
    lines = [f"export {name}={q(value)}" for name, value in sorted(stack.env.items())]
    lines += [f"unset {name}" for name in sorted(set(stack.removed) | set(stack.unset))]
    lines.append("STACK_EXPORTS=(" + " ".join(sorted(stack.env)) + ")")
    lines.append("STACK_COMPONENTS=(" + " ".join(stack.components) + ")")
    for name, proc in stack.components.items():
        lines.append(f"STACK_ARGV_{_var(name)}=(" + " ".join(q(a) for a in proc["argv"]) + ")")
        lines.append(f"STACK_ENV_{_var(name)}=(" + " ".join(q(f"{k}={v}") for k, v in proc["env"].items()) + ")")
    for name, url in stack.urls.items():
        lines.append(f"STACK_URL_{name.upper()}={q(url)}")
    for key, value in {"STACK_DIR": ctx.stack_dir, "STACK_REDIS_PORT": ctx.redis_port,
                       "STACK_PASSWORD_FILE": ctx.password_file, "STACK_MLFLOW_ARTIFACTS": ctx.mlflow_artifacts,
                       "STACK_SECRETS_FILE": ctx.secrets_file, "STACK_REPOS": ctx.repos,
                       "STACK_PG_HOST": ctx.postgres_host, "STACK_PG_PORT": ctx.postgres_port,
                       "STACK_PG_USER": stack.databases[0]["user"], "STACK_PG_PASSWORD": stack.databases[0]["password"],
                       "STACK_DB_NAMES": " ".join(d["name"] for d in stack.databases),
                       "STACK_ADMIN_PASSWORD": ctx.variables().get("AIRFLOW_ADMIN_PASSWORD", "")}.items():
        lines.append(f"{key}={q(str(value))}")
    return "\n".join(lines) + "\n"


def ensure_databases(stack: NativeStack) -> list[str]:
    """Create each database of the stack (owned by its role) if missing; return the ones created."""
    import psycopg2

    created = []
    for db in stack.databases:
        try:
            conn = psycopg2.connect(host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                                    dbname="postgres", connect_timeout=10)
        except psycopg2.OperationalError as exc:
            raise StackConfigError(
                f"cannot connect to PostgreSQL at {db['host']}:{db['port']} as {db['user']!r} ({str(exc).strip()}); "
                "Fix: run `bash scripts/setup.d/20-postgres.sh` (as root it also lets scripts/stack.sh create the role)"
            ) from exc
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (db["name"],))
                if cur.fetchone() is None:
                    cur.execute(f'create database "{db["name"]}"')
                    created.append(db["name"])
        finally:
            conn.close()
    return created


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("shell", "json", "databases"):
        print("usage: stack_env.py shell|json|databases", file=sys.stderr)
        return 2
    try:
        ctx = Context.from_environ()
        stack = native_stack(ctx)
        if args[0] == "shell":
            sys.stdout.write(shell(stack, ctx))
        elif args[0] == "json":
            print(json.dumps(stack.as_json(), indent=2, sort_keys=True))
        else:
            created = ensure_databases(stack)
            names = ", ".join(d["name"] for d in stack.databases)
            print(f"databases {names}: " + (f"created {', '.join(created)}" if created else "all exist"))
    except StackConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
