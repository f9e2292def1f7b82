"""The demo app repo and its failing variants.

``seed()`` puts include/demo/app into the bare repo ``<state>/repos/app.git`` (branch ``main``)
and returns its URL. ``make_variant(name)`` makes branch ``variant/<name>``: main plus one
change that a given gate stage must catch. Tests and the demo use these instead of hand-made
repos, so every case is a real commit the pipeline checks out.
"""

from __future__ import annotations

from pathlib import Path

from include.common.git import commit_files, run_git, seed_bare_repo
from include.common.paths import demo_inputs_dir, demo_repo_url, state_dir

APP_DIR = demo_inputs_dir() / "app"
VARIANTS_DIR = Path(__file__).parent / "variants"


def repo_path() -> Path:
    return state_dir() / "repos" / "app.git"


def repo_url() -> str:
    """Where the pipelines fetch it (``include.common.paths.demo_repo_url``)."""
    return demo_repo_url("app")


def seed() -> dict:
    """Seed (idempotently) the demo app repo; return {"repo_url", "revision", "sha"}."""
    sha = seed_bare_repo(APP_DIR, repo_path(), "demo-app: seed from include/demo/app")
    return {"repo_url": repo_url(), "revision": "main", "sha": sha}


# A fake AWS key pair, assembled here so that this project's own source holds no secret-shaped literal.
_FAKE_KEY_ID = "AKIA" + "Q7XK2M4NZ5RB3WLP"
_FAKE_SECRET = "wJalrXUtnFEMI" + "/K7MDENG/bPxRfiCYZ3QX9MAKE"


def _routes() -> str:
    return (APP_DIR / "src" / "demo_app" / "routes.py").read_text()


def _variant_changes() -> dict[str, tuple[str, dict[str, str | None]]]:
    """variant name -> (stage that must fail, {path: new text})."""
    low_cov_module = '"""Reporting helpers nobody tests yet (the low-coverage variant)."""\n\n\n' + "\n\n".join(
        f"def report_{i}(rows):\n"
        f"    total = 0\n"
        f"    for row in rows:\n"
        f"        if row.get('kind') == 'k{i}':\n"
        f"            total += row.get('value', 0) * {i}\n"
        f"        elif row.get('kind') is None:\n"
        f"            total -= 1\n"
        f"        else:\n"
        f"            total += 0\n"
        f"    return total\n" for i in range(12)) + "\n"
    return {
        "failing-test": ("test", {
            "tests/unit/test_politeness.py": (
                "from demo_app.routes import greet\n\n\n"
                "def test_greeting_is_formal():\n"
                "    # a regression someone wrote a test for: the greeting must be formal\n"
                "    assert greet('Ada') == 'Good day, Ada.'\n"),
        }),
        "secret": ("secrets", {
            "deploy/production.env": (
                "# production settings\nAPP_REGION=eu-west-1\n"
                f"AWS_ACCESS_KEY_ID={_FAKE_KEY_ID}\nAWS_SECRET_ACCESS_KEY={_FAKE_SECRET}\n"),
        }),
        "vulnerable-dep": ("audit", {
            "requirements.lock": (VARIANTS_DIR / "vulnerable-dep.requirements.lock").read_text(),
        }),
        "bandit-high": ("sast", {
            "src/demo_app/routes.py": _routes().replace(
                "import json\n", "import json\nimport subprocess\n", 1) + (
                "\n\ndef disk_usage(path: str) -> str:\n"
                "    \"\"\"Admin helper: disk usage of a path (runs through a shell!).\"\"\"\n"
                "    return subprocess.run(f\"du -sh {path}\", shell=True, capture_output=True, text=True).stdout\n"),
        }),
        "low-coverage": ("test", {
            "src/demo_app/reports.py": low_cov_module,
        }),
    }


VARIANTS = tuple(_variant_changes()) if APP_DIR.exists() else ()


def make_variant(name: str, url: str | None = None) -> dict:
    """Create or refresh branch ``variant/<name>`` = main + the variant's change.

    Returns {"repo_url", "revision", "sha", "stage"}: ``stage`` is the gate stage that must fail.
    """
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose from {sorted(VARIANTS)}")
    if url is None:
        url, bare = seed()["repo_url"], str(repo_path())
    else:
        bare = url.removeprefix("file://")
    branch = f"variant/{name}"
    # The variant branch always starts again from main (a demo fixture, not someone's work).
    run_git(["--git-dir", bare, "branch", "--force", branch, "main"])
    stage, files = _variant_changes()[name]
    sha = commit_files(url, branch, files, f"variant {name}: must fail the {stage} stage")
    if sha is None:
        sha = run_git(["--git-dir", bare, "rev-parse", branch])
    return {"repo_url": url, "revision": branch, "sha": sha, "stage": stage}


def plan() -> list[dict]:
    """The demo runs of the CI/CD family, in order (read by scripts/run_demo.py).

    The clean app passes the gate and its image is pushed (when buildah is present); a commit
    with a bandit HIGH finding is stopped by the gate on purpose, with nothing pushed.
    """
    seed()
    bad = make_variant("bandit-high")
    return [
        {"dag_id": "cicd_build_test_scan", "label": "clean app: gate passes, image pushed", "conf": {}},
        {"dag_id": "cicd_build_test_scan", "label": "bandit HIGH commit: gate stops it",
         "conf": {"revision": bad["revision"], "stages": ["sast", "image"]}, "expect": "failed"},
        {"dag_id": "cicd_watch_branch", "label": "watch main: starts a build for a new commit",
         "conf": {"wait_timeout": 5}},
    ]
