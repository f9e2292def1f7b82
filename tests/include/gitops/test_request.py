"""The sync request: defaults, params, the newest triggering event, rollback, the self-heal skip."""

from __future__ import annotations

import pytest

from include.common.errors import InputError
from include.common.events import ClusterDrift, ManifestsChanged
from include.gitops import history
from include.gitops.request import SyncRequest, resolve

PARAMS = {"app": "shop", "repo_url": "file:///tmp/manifests.git", "path": "apps/shop/overlays/dev", "revision": "main",
          "self_heal": False, "prune": False, "dry_run": False, "health_timeout": 5}
SHA_A, SHA_B = "a" * 40, "b" * 40


def drift(**kw) -> dict:
    fields = {"app": "shop", "status": "OutOfSync", "repo_url": "file:///tmp/other.git", "path": "apps/shop/overlays/dev",
              "sha": SHA_A, **kw}
    return ClusterDrift(**fields).to_extra()


def changed(**kw) -> dict:
    fields = {"app": "shop", "repo_url": "file:///tmp/m.git", "path": "apps/shop/overlays/prod", "sha": SHA_B, **kw}
    return ManifestsChanged(**fields).to_extra()


def test_defaults_in_one_place() -> None:
    request = SyncRequest.from_params({})
    assert (request.app, request.path, request.revision, request.namespace) == ("shop", "apps/shop/overlays/dev", "main", "default")
    assert (request.health_timeout, request.wave_timeout) == (120.0, 30.0)
    assert request.kubernetes_conn_id == "kubernetes_default" and request.triggered_by == "manual"


def test_missing_or_empty_params_keep_the_default_but_zero_and_root_path_are_values() -> None:
    request = SyncRequest.from_params({"app": "", "revision": None, "health_timeout": 0, "wave_timeout": 0, "path": "",
                                       "prune": 1, "ignore_differences": None})
    assert request.app == "shop" and request.revision == "main"
    assert request.health_timeout == 0.0 and isinstance(request.health_timeout, float) and request.wave_timeout == 0.0
    assert request.path == ""  # the repo's root
    assert request.prune is True and request.ignore_differences == []


def test_manual_run_resolves_params() -> None:
    out = resolve({**PARAMS, "health_timeout": 0}, {}, report_dir="/r")
    state = out.request.as_state()
    assert not out.skip and state["health_timeout"] == 0 and state["report_dir"] == "/r" and state["started_at"]
    assert state["repo_url"] == "file:///tmp/manifests.git" and state["triggered_by"] == "manual"


def test_drift_event_without_self_heal_changes_nothing() -> None:
    out = resolve(PARAMS, {"cluster_drift": [drift(self_heal=False)]})
    assert "self-heal is off" in out.skip and "'shop'" in out.skip


def test_drift_event_with_self_heal_syncs_its_commit_with_force() -> None:
    out = resolve(PARAMS, {"cluster_drift": [drift(self_heal=True)]})
    request = out.request
    assert not out.skip and request.self_heal and request.force
    assert (request.repo_url, request.revision) == ("file:///tmp/other.git", SHA_A)
    assert request.triggered_by == "cluster_drift"


def test_self_heal_param_heals_a_drift_event_that_did_not_ask() -> None:
    out = resolve({**PARAMS, "self_heal": True}, {"cluster_drift": [drift(self_heal=False)]})
    assert not out.skip and out.request.force


def test_manifests_changed_event_carries_the_exact_commit() -> None:
    request = resolve(PARAMS, {"manifests_changed": [changed()]}).request
    assert (request.repo_url, request.path, request.revision, request.force) == (
        "file:///tmp/m.git", "apps/shop/overlays/prod", SHA_B, False)


def test_the_newest_event_wins_and_both_assets_mean_no_self_heal_question() -> None:
    out = resolve(PARAMS, {"manifests_changed": [changed(sha="c" * 40), changed()], "cluster_drift": [drift()]})
    assert not out.skip and out.request.revision == SHA_A  # cluster_drift's events come after manifests_changed's
    assert out.request.triggered_by == "cluster_drift, manifests_changed" and not out.request.force


def test_an_event_without_the_contract_fields_is_bad_input() -> None:
    with pytest.raises(InputError, match="manifests_changed event.*sha"):
        resolve(PARAMS, {"manifests_changed": [{"repo": "file:///tmp/m.git", "commit": SHA_B}]})


def test_rollback_takes_revision_path_and_repo_from_history() -> None:
    app = "rollback-req"
    for sha in (SHA_A, SHA_B):
        history.record(history.HistoryEntry(app=app, revision=sha, result="Succeeded", health="Healthy",
                                            repo_url="file:///tmp/h.git", path="apps/h"))
    out = resolve({**PARAMS, "app": app, "rollback": True}, {})
    assert (out.request.revision, out.request.path, out.request.repo_url) == (SHA_A, "apps/h", "file:///tmp/h.git")
    assert any("goes back to sync #1" in note for note in out.notes)


def test_no_repo_url_uses_the_demo_repo_and_says_so() -> None:
    out = resolve({k: v for k, v in PARAMS.items() if k != "repo_url"}, {})
    assert out.request.repo_url.startswith("file://") and "demo manifests repo" in out.notes[0]


@pytest.mark.parametrize(("params", "what"), [
    ({"revision": "main; rm -rf /"}, "revision"),
    ({"repo_url": "not a url"}, "repo_url"),
    ({"ignore_differences": "x"}, "ignore_differences"),
    ({"ignore_differences": [{"kind": "Deployment"}]}, "ignore_differences"),
])
def test_bad_input_fails_before_anything(params, what) -> None:
    with pytest.raises(InputError, match=what):
        resolve({**PARAMS, **params}, {})


def test_a_git_watch_event_brings_the_apps_own_settings_and_airflow_s_wrapper_is_read() -> None:
    """The Git watcher's event (as Airflow stores a watcher's event: from_trigger + payload)
    carries namespace, prune and self_heal from apps.yaml; they win over the params."""
    payload = changed(namespace="shop-dev", prune=True, self_heal=True, trace={"source": "git_watch"})
    out = resolve(PARAMS, {"manifests_changed": [{"from_trigger": True, "payload": payload}]})
    request = out.request
    assert (request.namespace, request.prune, request.self_heal, request.revision) == ("shop-dev", True, True, SHA_B)
    plain = resolve({**PARAMS, "namespace": "team"}, {"manifests_changed": [changed()]}).request
    assert (plain.namespace, plain.prune) == ("team", False)  # a link's event keeps the params' settings


def test_a_drift_event_self_heals_an_app_declared_with_self_heal_in_apps_yaml(tmp_path) -> None:
    from include.common.git import seed_bare_repo

    src = tmp_path / "src"
    (src / "apps" / "shop").mkdir(parents=True)
    (src / "apps" / "shop" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (src / "apps.yaml").write_text("apps:\n  - {name: shop, path: apps/shop, namespace: shop-dev, self_heal: true}\n"
                                   "  - {name: other, path: apps/shop}\n")
    sha = seed_bare_repo(src, tmp_path / "m.git", "apps")
    url = f"file://{tmp_path / 'm.git'}"
    healed = resolve(PARAMS, {"cluster_drift": [drift(repo_url=url, path="apps/shop", sha=sha)]})
    assert not healed.skip and healed.request.self_heal and healed.request.force
    assert healed.request.namespace == "shop-dev"
    other = resolve({**PARAMS, "app": "other"}, {"cluster_drift": [drift(app="other", repo_url=url, path="apps/shop", sha=sha)]})
    assert "self-heal is off" in other.skip and "apps.yaml" in other.skip
