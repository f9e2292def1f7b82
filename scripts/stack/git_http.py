"""Git smart HTTP (clone, fetch, push) over the bare repos in ``GIT_PROJECT_ROOT``: a WSGI app.

One file, two users:

- the ``git`` service of docker-compose.yaml: the Dockerfile copies it to /opt/delivery and the
  service runs ``gunicorn --chdir /opt/delivery git_http:app``;
- the native stack (scripts/stack.sh): ``gunicorn --chdir scripts/stack git_http:app``.

Plain stdlib; every request except ``/`` and ``/healthz`` (which list the repos) is handed to
``git http-backend``. Anonymous push is on: a local demo server, not for the internet.
"""

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
    if length.isdigit():
        data = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):  # a chunked push (gunicorn ends the stream for us)
        data = stream.read()
    else:  # no body: reading on would wait for a client that is waiting for us (PEP 3333)
        data = b""
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
