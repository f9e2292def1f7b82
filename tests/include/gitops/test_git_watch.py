"""The rules of the Git watcher on plain data: backoff, the state's compare-and-swap, who needs a sync."""

from __future__ import annotations

import pytest

from include.common.git import run_git, seed_bare_repo
from include.gitops import git_watch
from include.gitops.apps import App
from include.gitops.git_watch import Commit, advance, backoff, last_seen, needs_sync

SHOP = App("shop", "apps/shop/overlays/dev", automated=True)
WATCHED = {"apps/shop/overlays/dev", "apps/shop/base"}


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(10, n, 60) for n in range(5)] == [10, 20, 40, 60, 60]


def test_the_state_moves_only_from_the_head_it_was_read_at(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    assert advance("file:///r.git", "main", None, "a" * 40)
    assert not advance("file:///r.git", "main", None, "b" * 40)  # another copy took the baseline first
    assert advance("file:///r.git", "main", "a" * 40, "c" * 40)
    assert last_seen("file:///r.git", "main") == "c" * 40
    assert last_seen("file:///r.git", "dev") is None


@pytest.mark.parametrize("history, expected", [
    ([], ""),
    ([Commit("1", ("apps/cart/cm.yaml",))], ""),
    ([Commit("1", ("apps/shop/base/cm.yaml",))], "changed: apps/shop/base/cm.yaml"),
    ([Commit("1", ("apps/shop/overlays/dev/k.yaml",), write_back=True)], ""),
    ([Commit("1", ("apps/shop/base/cm.yaml",)), Commit("2", ("apps/shop/overlays/dev/k.yaml",), write_back=True)], ""),
    ([Commit("1", ("apps/shop/overlays/dev/k.yaml",), write_back=True), Commit("2", ("apps/shop/base/cm.yaml",))],
     "changed: apps/shop/base/cm.yaml"),
    # a write-back of another app that also touches shop's base does not sync shop
    ([Commit("1", ("apps/shop/base/cm.yaml",), write_back=True)], "changed: apps/shop/base/cm.yaml"),
    ([Commit("1", tuple(f"apps/shop/base/{n}.yaml" for n in range(7)))],
     "changed: apps/shop/base/0.yaml, apps/shop/base/1.yaml, apps/shop/base/2.yaml, apps/shop/base/3.yaml, "
     "apps/shop/base/4.yaml and 2 more"),
])
def test_who_needs_a_sync(history, expected):
    assert needs_sync(SHOP, SHOP, history, WATCHED) == expected


def test_a_new_or_changed_entry_in_apps_yaml_needs_a_sync():
    assert needs_sync(SHOP, None, [], WATCHED) == "new in apps.yaml"
    assert needs_sync(SHOP, App("shop", SHOP.path), [], WATCHED) == "its entry in apps.yaml changed"


def test_a_force_push_syncs_every_automated_app(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    src, bare = tmp_path / "src", tmp_path / "m.git"
    (src / "apps" / "cart").mkdir(parents=True)
    (src / "apps.yaml").write_text("apps: [{name: cart, path: apps/cart, automated: true}, {name: web, path: apps/web}]\n")
    (src / "apps" / "cart" / "cm.yaml").write_text("kind: ConfigMap\n")
    url = f"file://{bare}"
    head = seed_bare_repo(src, bare, "one")
    assert git_watch.poll(url, "main").message.startswith("baseline")
    other = tmp_path / "other"
    run_git(["init", "--quiet", "--initial-branch=main", str(other)])
    (other / "apps.yaml").write_text((src / "apps.yaml").read_text())
    run_git(["add", "--all"], cwd=other)
    run_git(["commit", "--quiet", "-m", "rewritten"], cwd=other)
    run_git(["push", "--quiet", "--force", url, "HEAD:refs/heads/main"], cwd=other)
    found = git_watch.poll(url, "main")
    assert found.previous == head and [e["app"] for e in found.events] == ["cart"]
    assert "not an ancestor" in found.events[0]["trace"]["reason"]


def test_an_app_watches_what_its_kustomization_pulls_in(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    files = {
        "apps/shop/overlays/dev/kustomization.yaml": "resources: [../../base, ns.yaml, https://example.com/x.yaml]\n"
                                                     "patches: [{path: ../../../../common/patch.yaml}]\n",
        "apps/shop/overlays/dev/ns.yaml": "kind: Namespace\n",
        "apps/shop/base/kustomization.yaml": "components: [../../../components/labels]\n",
        "components/labels/kustomization.yaml": "kind: Component\n",
        "common/patch.yaml": "kind: ConfigMap\n",
        "apps/other/cm.yaml": "kind: ConfigMap\n",
    }
    for rel, text in files.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_text(text)
    seed_bare_repo(tmp_path / "src", tmp_path / "m.git", "one")
    git_dir, head = git_watch.mirror(f"file://{tmp_path / 'm.git'}", "main")
    assert git_watch.watched(git_dir, git_watch.tree(git_dir, head), "apps/shop/overlays/dev") == {
        "apps/shop/overlays/dev", "apps/shop/base", "components/labels", "common/patch.yaml"}
