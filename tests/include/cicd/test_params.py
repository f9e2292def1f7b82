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
    p = validate_params({"repo": repo})
    assert p["ref"] == "main" and p["image"] == "demo-app" and p["policy"].endswith("default.yaml")
    assert p["stages"] == ["test", "sast", "secrets", "audit", "sbom", "build", "image"]


@pytest.mark.parametrize("ref", ["main; rm -rf /", "$(id)", "a`b`", "x|y", "a b", "a&&b"])
def test_shell_metacharacters_in_ref(repo, ref):
    with pytest.raises(InputError, match=r"^ref: .*shell metacharacters.*Fix:"):
        validate_params({"repo": repo, "ref": ref})


@pytest.mark.parametrize("ref", ["-rf", "a..b", "feature/", "x.lock", ""])
def test_malformed_ref(repo, ref):
    with pytest.raises(InputError, match="^ref: "):
        validate_params({"repo": repo, "ref": ref or "-"})


def test_missing_local_repo(tmp_path):
    with pytest.raises(InputError, match=r"^repo: .*does not exist.*Fix: seed"):
        validate_params({"repo": f"file://{tmp_path}/nope.git"})


@pytest.mark.parametrize("url", ["ftp://x/y", "relative/path", "file:///a b"])
def test_bad_repo_url(url):
    with pytest.raises(InputError, match="^repo: "):
        validate_params({"repo": url})


@pytest.mark.parametrize("image", ["Demo", "a//b", "-x", "a:b"])
def test_bad_image_name(repo, image):
    with pytest.raises(InputError, match="^image: "):
        validate_params({"repo": repo, "image": image})


def test_stages_and_policy(repo, tmp_path):
    assert validate_params({"repo": repo, "stages": ["image", "test"]})["stages"] == ["test", "image"]
    with pytest.raises(InputError, match="^stages: unknown"):
        validate_params({"repo": repo, "stages": ["lint"]})
    with pytest.raises(InputError, match="^policy: there is no policy named 'lax'"):
        validate_params({"repo": repo, "policy": "lax"})
    custom = tmp_path / "mine.yaml"
    custom.write_text("stages: {}\n")
    assert validate_params({"repo": repo, "policy": str(custom)})["policy"] == str(custom)
