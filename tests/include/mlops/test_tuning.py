"""The shared Optuna study: exact trial budget across workers, and a retried worker resumes it."""

from __future__ import annotations

import threading
import time

import pytest

from include.mlops import tuning


def quadratic(trial):
    x = trial.suggest_float("x", -5, 5)
    for step in range(3):
        trial.report(-(x - 1) ** 2 - step, step)
    return -(x - 1) ** 2


def _counts(study):
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    return {s: states.count(s) for s in set(states)}


def test_two_workers_share_the_budget_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    tuning.create_study(tuning.storage(url), "shared", trial_budget=10, timeout_s=120)
    results = []

    def work(i):
        study = tuning.create_study(tuning.storage(url), "shared", trial_budget=999, timeout_s=1)  # budgets kept
        results.append(tuning.run_worker(study, quadratic, worker=i, seed=1, host=f"worker{i + 1}@box"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    study = tuning.create_study(tuning.storage(url), "shared", trial_budget=1, timeout_s=1)
    assert study.user_attrs["trial_budget"] == 10
    assert tuning.counted_trials(study) == 10
    assert sum(r.complete + r.pruned for r in results) == 10
    numbers = [t.number for t in study.get_trials(deepcopy=False)]
    assert len(numbers) == len(set(numbers))
    # who ran what can be read back from the study: each counted trial names its worker's host
    hosts = {t.user_attrs["host"] for t in study.get_trials(deepcopy=False) if t.state.name in ("COMPLETE", "PRUNED")}
    assert hosts <= {"worker1@box", "worker2@box"} and {r.host for r in results} == {"worker1@box", "worker2@box"}


def test_deadline_stops_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    study = tuning.create_study(tuning.storage(url), "late", trial_budget=1000, timeout_s=0.5)
    time.sleep(0.6)
    result = tuning.run_worker(study, quadratic)
    assert result.stopped_by == "deadline" and result.trials_run == 0


@pytest.mark.slow
def test_retried_worker_resumes_without_losing_or_double_counting(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    first = tuning.create_study(tuning.storage(url, heartbeat_interval=1, grace_period=2), "retry",
                                trial_budget=6, timeout_s=300)

    # Attempt 1 completes two trials, then dies in the middle of a third one: its trial stays RUNNING
    # with a heartbeat that stops.
    class Crash(Exception):
        pass

    done = []

    def crash_after_two(study, trial):
        done.append(trial.number)
        if len(done) == 2:
            raise Crash

    with pytest.raises(Crash):
        tuning.run_worker(first, quadratic, worker=0, seed=3, callbacks=[crash_after_two])
    lost = first.ask({"x": first.trials[0].distributions["x"]})
    first._storage.record_heartbeat(lost._trial_id)
    lost_params = dict(lost.params)
    counts = _counts(first)
    assert counts.get("COMPLETE", 0) + counts.get("PRUNED", 0) == 2 and counts["RUNNING"] == 1
    time.sleep(3)  # the grace period passes: the trial is stale

    # Attempt 2 (the retry) joins the same study.
    retry = tuning.create_study(tuning.storage(url, heartbeat_interval=1, grace_period=2), "retry",
                                trial_budget=6, timeout_s=300)
    tuning.run_worker(retry, quadratic, worker=0, seed=3)
    trials = retry.get_trials(deepcopy=False)
    counted = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(counted) == 6  # the budget, exactly: nothing lost, nothing counted twice
    stale = [t for t in trials if t.number == lost.number][0]
    assert stale.state.name == "FAIL"
    # The lost trial was re-run with the same parameters.
    assert any(t.params == lost_params and t.number != lost.number for t in counted)


def test_bad_budgets_are_input_errors(tmp_path):
    from include.common.errors import InputError

    st = tuning.storage(f"sqlite:///{tmp_path / 'o.db'}")
    with pytest.raises(InputError):
        tuning.create_study(st, "x", trial_budget=0, timeout_s=10)
    with pytest.raises(InputError):
        tuning.create_study(st, "y", trial_budget=3, timeout_s=0)


def test_cv_objective_prunes_over_folds(tmp_path):
    """The objective reports one value per fold, so the median pruner can stop bad trials early."""
    import optuna

    from include.mlops.data import load_base

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(tuning.cv_objective(load_base().head(200), n_folds=3), n_trials=2)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert complete and all(len(t.intermediate_values) == 3 for t in complete)
    assert all(0.5 < t.value <= 1.0 for t in complete)


@pytest.mark.postgres
def test_workers_opening_a_fresh_postgres_database_at_once_all_get_the_storage(postgres_url):
    """Parallel tune tasks on an empty database race to create Optuna's tables; none may fail."""
    import secrets

    import sqlalchemy
    from sqlalchemy.engine import make_url

    name = f"optuna_race_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'create database "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    barrier, errors = threading.Barrier(4), []

    def open_at_once():
        barrier.wait()
        try:
            tuning.storage(url).get_all_studies()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_at_once) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()
