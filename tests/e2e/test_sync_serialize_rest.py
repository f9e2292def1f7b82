"""Two syncs of the same app requested at once, through the REST API of a real Airflow.

``gitops_manifest_sync`` runs one at a time (``max_active_runs=1``): the second request waits
for the first, then finds the cluster already equal to Git and applies nothing.
"""

from __future__ import annotations

import json
import secrets

import pytest

from e2e.flow import SYNC, ts

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.k8s]


def test_two_syncs_of_one_app_serialize(airflow_api, kubeconfig, k8s_client, k8s_namespace, tmp_path):
    from include.common.git import seed_bare_repo
    from include.common.paths import report_dir
    from include.gitops import history

    app = f"twice-{secrets.token_hex(3)}"
    src = tmp_path / "src" / "app"
    src.mkdir(parents=True)
    (src / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: blue}\n")
    url = f"file://{tmp_path / 'repo.git'}"
    sha = seed_bare_repo(tmp_path / "src", tmp_path / "repo.git", "v1")
    conf = {"app": app, "repo_url": url, "path": "app", "namespace": k8s_namespace, "health_timeout": 60}

    airflow_api.wait_for_dags([SYNC])
    airflow_api.unpause(SYNC)
    runs = [airflow_api.trigger(SYNC, conf)["dag_run_id"] for _ in range(2)]
    done = [airflow_api.wait_for_run(SYNC, run_id, timeout=600) for run_id in runs]
    assert [d["state"] for d in done] == ["success", "success"], done
    first, second = sorted(done, key=lambda d: ts(d["start_date"]))
    assert ts(second["start_date"]) >= ts(first["end_date"]), "the two syncs overlapped"

    applied = {d["dag_run_id"]: json.loads((report_dir(SYNC, d["dag_run_id"]) / "sync.json").read_text())["applied"]
               for d in done}
    assert [a["action"] for a in applied[first["dag_run_id"]]] == ["created"], applied
    assert applied[second["dag_run_id"]] == [], "the second sync saw the first's result: nothing left to apply"
    second_diff = json.loads((report_dir(SYNC, second["dag_run_id"]) / "diff.json").read_text())
    assert second_diff["status"] == "Synced"
    assert [(e.revision, e.result, e.run_id) for e in history.entries(app)] == [
        (sha, "Succeeded", first["dag_run_id"]), (sha, "Succeeded", second["dag_run_id"])]
