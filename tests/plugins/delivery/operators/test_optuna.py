"""OptunaTuneOperator: workers share one study; on PostgreSQL two processes tune in parallel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from delivery.operators.optuna import OptunaTuneOperator


def _train_file(tmp_path):
    from include.mlops.data import load_base, write_batch

    return write_batch(load_base().head(240), tmp_path / "train.csv")


@pytest.mark.slow
def test_two_workers_in_sequence_use_the_budget_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPTUNA_DEFAULT", json.dumps({"conn_type": "optuna",
                                                                  "extra": {"url": f"sqlite:///{tmp_path / 'o.db'}"}}))
    data = _train_file(tmp_path)
    kwargs = dict(task_id="tune", study_name="s", data_path=str(data), n_trials=3, tuning_timeout=300, seed=0,
                  objective_kwargs={"n_folds": 2})
    first = OptunaTuneOperator(worker=0, **kwargs).execute({})
    second = OptunaTuneOperator(worker=1, **kwargs).execute({})
    assert first["complete"] + first["pruned"] == 3
    assert second["trials_run"] == 0 and second["stopped_by"] == "budget"


WORKER = """
import json, sys
from delivery.operators.optuna import OptunaTuneOperator
out = OptunaTuneOperator(task_id="tune", study_name=sys.argv[1], data_path=sys.argv[2], n_trials=6,
                         tuning_timeout=300, worker=int(sys.argv[3]), objective_kwargs={"n_folds": 2}).execute({})
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_two_parallel_workers_on_postgres(tmp_path, postgres_url):
    """Two processes (as two mapped tasks on two workers) share one study in PostgreSQL."""
    import optuna
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    env = dict(os.environ)
    env["AIRFLOW_CONN_OPTUNA_DEFAULT"] = json.dumps({
        "conn_type": "postgres", "host": url.host, "port": url.port, "login": url.username,
        "password": url.password, "schema": url.database})
    data = _train_file(tmp_path)
    study = f"pg-{uuid.uuid4().hex[:8]}"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, study, str(data), str(i)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    results = [json.loads(line[7:]) for out, _ in outs for line in out.splitlines() if line.startswith("RESULT ")]
    assert sum(r["complete"] + r["pruned"] for r in results) == 6
    loaded = optuna.load_study(study_name=study, storage=postgres_url)
    counted = [t for t in loaded.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(counted) == 6
    assert {t.user_attrs.get("worker") for t in counted} <= {0, 1}
