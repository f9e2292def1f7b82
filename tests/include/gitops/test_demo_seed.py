"""The demo manifests repo is seeded once; later calls keep the commits made on top of it."""

from include.common.git import commit_files, resolve
from include.gitops import demo


def test_seed_keeps_write_backs(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    first = demo.seed()
    written = commit_files(first["repo_url"], "main", {"apps/shop/overlays/dev/model.txt": "7\n"}, "write-back")
    again = demo.seed()
    assert again["sha"] == written == resolve(first["repo_url"], "main")
