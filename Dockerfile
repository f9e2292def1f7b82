# syntax=docker/dockerfile:1.7
# The project's Airflow image for the full stack (docker-compose.yaml).
#
# - FROM the official image of the Airflow and Python versions pinned in requirements.txt and
#   requirements.lock (tests/deploy/test_compose.py checks that they match);
# - installs requirements.lock, the same exact pins as the embedded default (.venv), which
#   include apache-airflow itself, so pip cannot move Airflow to another version;
# - adds git (the CI/CD and GitOps pipelines clone and push);
# - copies dags/, plugins/ and include/ to /opt/airflow and puts /opt/airflow and
#   /opt/airflow/plugins on PYTHONPATH: `include.<family>` and `delivery.*` import the same way
#   in every component (api-server, scheduler, dag-processor, triggerer, worker) as in .venv.
#
# Build: docker compose build   (or: docker build -t delivery-airflow:3.3.2 .)
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

USER airflow
COPY --chown=airflow:0 requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir -r /opt/airflow/requirements.lock
# The compose stack runs the CeleryExecutor. Its provider ships with the official image but is
# not pinned by requirements.lock; stop the build here, with the fix, if it ever goes missing.
RUN pip show --quiet apache-airflow-providers-celery >/dev/null 2>&1 \
 || { echo "error: apache-airflow-providers-celery is missing from the image; the CeleryExecutor needs it." >&2; \
      echo "Fix: add apache-airflow-providers-celery to requirements.txt and run make lock." >&2; exit 1; }

# Where the project lives in the image, and where runs write (a named volume in compose).
ENV PYTHONPATH=/opt/airflow:/opt/airflow/plugins \
    DELIVERY_STATE=/opt/airflow/state \
    DELIVERY_TOOLS=/opt/airflow/state/tools \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true

# Mount points of the named volumes, created here so that new volumes start owned by airflow.
RUN mkdir -p /opt/airflow/state/repos /opt/airflow/state/tools/bin /opt/airflow/mlflow-artifacts

COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/

# The `git` service of docker-compose.yaml: Git smart HTTP (clone, fetch and push) over the
# bare repos in GIT_PROJECT_ROOT, served by gunicorn (from requirements.lock) calling
# `git http-backend` per request. Anonymous push is on: a local demo server, not for the internet.
COPY --chmod=0644 <<'EOF' /opt/delivery/git_http.py
"""Git smart HTTP for the compose stack: gunicorn --chdir /opt/delivery git_http:app."""

import os
import subprocess

ROOT = os.environ.get("GIT_PROJECT_ROOT", "/srv/git")


def _repos() -> list[str]:
    if not os.path.isdir(ROOT):
        return []
    return sorted(name for name in os.listdir(ROOT) if name.endswith(".git"))


def app(environ, start_response):
    """One request: `/` and `/healthz` list the repos, anything else goes to git http-backend."""
    path = environ.get("PATH_INFO") or "/"
    if path in ("/", "/healthz"):
        body = "".join(f"{name}\n" for name in _repos()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    data = stream.read(int(length)) if length.isdigit() else stream.read()
    env = {key: value for key, value in environ.items() if key.startswith("HTTP_") and isinstance(value, str)}
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        HOME=os.environ.get("HOME", "/tmp"),
        GIT_PROJECT_ROOT=ROOT,
        GIT_HTTP_EXPORT_ALL="1",
        GIT_CONFIG_COUNT="2",
        GIT_CONFIG_KEY_0="http.receivepack",
        GIT_CONFIG_VALUE_0="true",
        GIT_CONFIG_KEY_1="safe.directory",
        GIT_CONFIG_VALUE_1="*",
        REQUEST_METHOD=environ.get("REQUEST_METHOD", "GET"),
        PATH_INFO=path,
        QUERY_STRING=environ.get("QUERY_STRING", ""),
        CONTENT_TYPE=environ.get("CONTENT_TYPE", ""),
        CONTENT_LENGTH=str(len(data)),
        REMOTE_ADDR=environ.get("REMOTE_ADDR", ""),
        REMOTE_USER="anonymous",
    )
    proc = subprocess.run(["git", "http-backend"], input=data, env=env, capture_output=True, check=False)
    head, sep, body = proc.stdout.partition(b"\r\n\r\n")
    if not sep:
        message = f"git http-backend failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')}"
        body = message.encode()
        start_response("502 Bad Gateway", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    status, headers = "200 OK", []
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = value.strip()
        elif name.strip():
            headers.append((name.strip(), value.strip()))
    start_response(status, headers)
    return [body]
EOF
