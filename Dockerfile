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
# The same file serves the demo repos in the native stack (scripts/stack.sh).
COPY --chmod=0644 scripts/stack/git_http.py /opt/delivery/git_http.py
