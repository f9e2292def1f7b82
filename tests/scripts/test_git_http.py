"""The demo repos served over HTTP (scripts/stack/git_http.py), as the stack and compose serve them.

With ``DELIVERY_GIT_BASE_URL`` set, the pipelines name the demo repos by their HTTP URL and clone,
commit and push through the Git server; without it, by their file:// URL.
"""

from __future__ import annotations

import importlib.util
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from include.common.git import run_git
from include.common.paths import PROJECT_ROOT, demo_repo_url


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):  # keep the test output to what fails
        pass


@pytest.fixture
def served_state(tmp_path, monkeypatch):
    """A state folder whose repos/ a git_http server on a free port serves; yields the base URL."""
    state = tmp_path / "state"
    (state / "repos").mkdir(parents=True)
    spec = importlib.util.spec_from_file_location("git_http", PROJECT_ROOT / "scripts" / "stack" / "git_http.py")
    git_http = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(git_http)
    git_http.ROOT = str(state / "repos")
    server = make_server("127.0.0.1", 0, git_http.app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("DELIVERY_STATE", str(state))
    monkeypatch.setenv("DELIVERY_GIT_BASE_URL", base + "/")
    yield base
    server.shutdown()


def test_without_a_git_server_the_demo_repos_are_file_urls(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    monkeypatch.delenv("DELIVERY_GIT_BASE_URL", raising=False)
    assert demo_repo_url("manifests") == f"file://{tmp_path / 'repos' / 'manifests.git'}"


def test_the_pipelines_clone_and_push_the_demo_repos_over_http(served_state):
    from include.cicd import demo as app_demo
    from include.cicd.params import app_repo_url
    from include.gitops import demo as manifests_demo

    app = app_demo.seed()
    manifests = manifests_demo.seed()
    assert app["repo_url"] == app_repo_url(None) == f"{served_state}/app.git"
    assert manifests["repo_url"] == f"{served_state}/manifests.git"

    # the Git server answers for the seeded heads
    heads = run_git(["ls-remote", manifests["repo_url"], "refs/heads/main"])
    assert heads.split()[0] == manifests["sha"]

    # a variant is committed through a clone of the served URL and pushed back over HTTP
    variant = app_demo.make_variant("failing-test")
    assert variant["repo_url"] == app["repo_url"]
    served = run_git(["ls-remote", app["repo_url"], f"refs/heads/{variant['revision']}"])
    assert served.split()[0] == variant["sha"] != app["sha"]
    local = run_git(["--git-dir", str(app_demo.repo_path()), "rev-parse", variant["revision"]])
    assert local == variant["sha"]  # the server wrote into the state's bare repo
