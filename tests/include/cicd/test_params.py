"""Params are checked before anything runs; every error names the param and the fix."""

import pytest

from include.cicd.params import validate_params
from include.common.errors import InputError


@pytest.fixture()
def repo(tmp_path):
    path = tmp_path / "app.git"
    path.mkdir()
    return f"file://{path}"


def test_defaults(repo):
    p = validate_params({"repo_url": repo})
    assert p["revision"] == "main" and p["image"] == "demo-app" and p["gate_policy"].endswith("default.yaml")
    assert p["stages"] == ["test", "sast", "secrets", "audit", "sbom", "build", "image"]


@pytest.mark.parametrize("revision", ["main; rm -rf /", "$(id)", "a`b`", "x|y", "a b", "a&&b"])
def test_shell_metacharacters_in_revision(repo, revision):
    with pytest.raises(InputError, match=r"^revision: .*shell metacharacters.*Fix:"):
        validate_params({"repo_url": repo, "revision": revision})


@pytest.mark.parametrize("revision", ["-rf", "a..b", "feature/", "x.lock", ""])
def test_malformed_revision(repo, revision):
    with pytest.raises(InputError, match="^revision: "):
        validate_params({"repo_url": repo, "revision": revision or "-"})


def test_missing_local_repo(tmp_path):
    with pytest.raises(InputError, match=r"^repo_url: .*does not exist.*Fix: seed"):
        validate_params({"repo_url": f"file://{tmp_path}/nope.git"})


@pytest.mark.parametrize("url", ["ftp://x/y", "relative/path", "file:///a b"])
def test_bad_repo_url(url):
    with pytest.raises(InputError, match="^repo_url: "):
        validate_params({"repo_url": url})


@pytest.mark.parametrize("image", ["Demo", "a//b", "-x", "a:b"])
def test_bad_image_name(repo, image):
    with pytest.raises(InputError, match="^image: "):
        validate_params({"repo_url": repo, "image": image})


def test_stages_and_policy(repo, tmp_path):
    assert validate_params({"repo_url": repo, "stages": ["image", "test"]})["stages"] == ["test", "image"]
    with pytest.raises(InputError, match="^stages: unknown"):
        validate_params({"repo_url": repo, "stages": ["lint"]})
    with pytest.raises(InputError, match="^gate_policy: there is no policy named 'lax'"):
        validate_params({"repo_url": repo, "gate_policy": "lax"})
    custom = tmp_path / "mine.yaml"
    custom.write_text("stages: {}\n")
    assert validate_params({"repo_url": repo, "gate_policy": str(custom)})["gate_policy"] == str(custom)


def test_empty_repo_url_means_the_demo_app_repo():
    from include.cicd import demo
    from include.cicd.params import app_repo_url

    assert app_repo_url("") == app_repo_url(None) == demo.repo_url()
    assert app_repo_url("file:///r.git") == "file:///r.git"


def test_git_errors_name_the_params_of_this_dag():
    from include.cicd.params import git_inputs
    from include.common.git import resolve

    with pytest.raises(InputError, match=r"^revision: 'a\.\.b' is not a valid Git"), git_inputs():
        resolve("file:///r.git", "a..b")
    with pytest.raises(InputError, match=r"^repo_url: 'ftp://x' is not a Git URL"), git_inputs():
        resolve("ftp://x", "main")
