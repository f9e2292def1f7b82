"""Hyper-parameter search with Optuna: one study in RDB storage shared by N workers.

Every worker (an Airflow mapped task, or a process in the benchmark) calls :func:`run_worker`
on the same study. The trial budget and the time budget are shared and kept in the storage:

- the study's user attribute ``trial_budget`` is the total number of trials; a trial whose
  number comes after ``trial_budget`` counted trials (COMPLETE, PRUNED or RUNNING) is
  refused at its start (it ends FAIL with ``budget_exhausted`` and is not counted);
- ``deadline`` (epoch seconds) is fixed when the study is created, so a retried worker keeps it;
- the storage records heartbeats: when a worker dies, its RUNNING trial goes stale, is marked
  FAIL by the next worker and re-enqueued with the same parameters (``RetryFailedTrialCallback``),
  so a retried task resumes the study and no trial is lost or counted twice.

The sampler is a seeded TPE (seed + worker index, so workers do not propose the same points;
``constant_liar`` keeps parallel workers apart); the pruner is a median pruner over CV folds.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from include.common.errors import InputError

HEARTBEAT_INTERVAL = 5
GRACE_PERIOD = 20


class BudgetExhausted(Exception):
    """The shared trial budget is used up (raised inside a trial so that it is not counted)."""


def storage(url: str, *, heartbeat_interval: int = HEARTBEAT_INTERVAL, grace_period: int = GRACE_PERIOD):
    """An ``RDBStorage`` with heartbeats and retry of stale trials (SQLite gets a lock timeout)."""
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    from include.mlops.sqlite_wal import enable_wal

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        enable_wal(url)
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    else:
        kwargs["engine_kwargs"] = {"pool_pre_ping": True}
    def open_storage():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna 5 but stable in use
            return RDBStorage(
                url,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2),
                **kwargs,
            )

    return _open_racing_schema_creation(open_storage)


def _open_racing_schema_creation(open_storage: Callable, attempts: int = 4):
    """``open_storage()``, again when a concurrent opener created Optuna's tables first.

    Parallel tune tasks on a fresh database both find no tables and both create them; the slower
    ``CREATE`` fails on what the faster one made ("... already exists"). The tables exist then, so
    opening again succeeds.
    """
    import sqlalchemy.exc

    for attempt in range(1, attempts + 1):
        try:
            return open_storage()
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            if attempt == attempts or "already exists" not in str(exc):
                raise
            time.sleep(0.2 * attempt)


def study_name(dag_id: str, dag_run_id: str) -> str:
    """The study of one DAG run, in the characters Optuna and MLflow tag filters accept."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{dag_id}__{dag_run_id}")


def create_study(storage_obj, study_name: str, *, trial_budget: int, timeout_s: float, direction: str = "maximize"):
    """Create the study (or load it when it exists: a retry) and fix its shared budgets once."""
    import optuna

    if trial_budget < 1:
        raise InputError("n_trials", f"{trial_budget} is less than 1", "ask for at least one trial")
    if timeout_s <= 0:
        raise InputError("tuning_timeout", f"{timeout_s} s is not positive", "give a time budget in seconds")
    study = optuna.create_study(storage=storage_obj, study_name=study_name, direction=direction, load_if_exists=True)
    attrs = study.user_attrs
    if "trial_budget" not in attrs:
        study.set_user_attr("trial_budget", trial_budget)
        study.set_user_attr("deadline", time.time() + timeout_s)
    return study


@dataclass
class WorkerResult:
    worker: int
    host: str
    trials_run: int
    complete: int
    pruned: int
    failed: int
    study_complete: int
    study_pruned: int
    stopped_by: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def counted_trials(study) -> int:
    """COMPLETE + PRUNED trials in the storage (what the budget counts)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def cv_objective(train_frame, *, n_folds: int = 3, seed: int = 0) -> Callable:
    """The objective: mean ROC AUC over stratified CV folds, reported per fold for pruning."""
    import numpy as np
    import optuna
    from sklearn.metrics import roc_auc_score

    from include.mlops.training import build_pipeline, folds, search_space, xy

    X, y = xy(train_frame)
    splits = folds(y, n_folds=n_folds, seed=seed)

    def objective(trial) -> float:
        params = search_space(trial)
        scores = []
        for step, (tr, va) in enumerate(splits):
            model = build_pipeline(params, seed=seed).fit(X.iloc[tr], y.iloc[tr])
            scores.append(roc_auc_score(y.iloc[va], model.predict_proba(X.iloc[va])[:, 1]))
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"mean ROC AUC {np.mean(scores):.4f} after {step + 1} fold(s)")
        return float(np.mean(scores))

    return objective


def objective_from_file(*, data_path: str, seed: int = 0, n_folds: int = 3, test_size: float = 0.25) -> Callable:
    """The CV objective on the training split of a batch file (the held-out split is never seen)."""
    from include.mlops.data import read_batch, split

    train, _ = split(read_batch(data_path), seed=seed, test_size=test_size)
    return cv_objective(train, n_folds=n_folds, seed=seed)


def run_worker(study, objective: Callable, *, worker: int = 0, seed: int = 0, host: str = "",
               callbacks: list[Callable] | None = None) -> WorkerResult:
    """Run trials on ``study`` until the shared trial budget or the deadline is reached.

    Each trial records ``worker`` (the index) and ``host`` (who ran it: the Airflow worker's host
    name, so parallelism across Celery workers can be read back from the study)."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # budget refusals are expected, not warnings
    budget = int(study.user_attrs["trial_budget"])
    deadline = float(study.user_attrs["deadline"])
    study.sampler = optuna.samplers.TPESampler(seed=seed + worker, n_startup_trials=4, constant_liar=True)
    study.pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)

    def guarded(trial):
        counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        ahead = [t for t in study.get_trials(deepcopy=False, states=counted) if t.number < trial.number]
        if len(ahead) >= budget:
            trial.set_user_attr("budget_exhausted", True)
            raise BudgetExhausted(f"{len(ahead)} trials already counted of a budget of {budget}")
        trial.set_user_attr("worker", worker)
        if host:
            trial.set_user_attr("host", host)
        return objective(trial)

    mine = {"run": 0, "complete": 0, "pruned": 0, "failed": 0}
    stopped_by = "budget"
    while True:
        if counted_trials(study) >= budget:
            stopped_by = "budget"
            break
        remaining = deadline - time.time()
        if remaining <= 0:
            stopped_by = "deadline"
            break
        before = {t.number for t in study.get_trials(deepcopy=False)}
        study.optimize(guarded, n_trials=1, timeout=remaining, catch=(BudgetExhausted,), callbacks=callbacks,
                       gc_after_trial=False)
        new = [t for t in study.get_trials(deepcopy=False) if t.number not in before and t.user_attrs.get("worker") == worker]
        for t in new:
            mine["run"] += 1
            key = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned"}.get(t.state, "failed")
            mine[key] += 1
        if any(t.user_attrs.get("budget_exhausted") for t in study.get_trials(deepcopy=False)
               if t.number not in before):
            stopped_by = "budget"
            break
    return WorkerResult(
        worker=worker,
        host=host,
        trials_run=mine["run"],
        complete=mine["complete"],
        pruned=mine["pruned"],
        failed=mine["failed"],
        study_complete=len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
        study_pruned=len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))),
        stopped_by=stopped_by,
    )


def study_plots(study, out_dir: str | Path) -> list[Path]:
    """Optuna's own plots of the study (``optuna.visualization.matplotlib``) as PNG files.

    Optimisation history always; parameter importances and the parallel coordinates when at least
    two trials completed (the importance evaluator needs two); intermediate values (what the
    pruner saw per fold) when a trial reported any.
    """
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis
    from optuna.exceptions import ExperimentalWarning
    from optuna.trial import TrialState

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    wanted = [("optimization_history", vis.plot_optimization_history)]
    if len(complete) >= 2:
        wanted += [("param_importances", vis.plot_param_importances),
                   ("parallel_coordinate", vis.plot_parallel_coordinate)]
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        wanted.append(("intermediate_values", vis.plot_intermediate_values))
    paths = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        for name, plot in wanted:
            ax = plot(study)
            fig = ax.figure
            fig.set_size_inches(7, 4.5)
            fig.tight_layout()
            path = out / f"{name}.png"
            fig.savefig(path, dpi=80)
            plt.close(fig)
            paths.append(path)
    return paths


def trial_rows(study) -> list[tuple[int, float | None, str]]:
    """(number, value, state name) for every trial: counts and the best CV score for MLflow."""
    return [(t.number, t.value, t.state.name) for t in study.get_trials(deepcopy=False)]
