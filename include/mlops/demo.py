"""Demo data for the MLOps DAGs, written into the state folder.

``seed()`` writes a training set (the real base table), a clean production batch and a drifted
one, and returns their paths and the ordered ``(dag_id, conf)`` runs of the demo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from include.common.paths import state_dir
from include.mlops.constants import NUMERIC_FEATURES

# The drifted demo batch: 8 of 10 numeric features move by 1.5 standard deviations and a new
# clinic appears in 15 % of the rows; labels are kept, so performance decay is measured too.
DRIFT_CHANGES: dict[str, Any] = {
    "shift": {name: 1.5 for name in NUMERIC_FEATURES[:8]},
    "new_categories": {"clinic": ("central", 0.15)},
}


def data_dir() -> Path:
    path = state_dir() / "mlops" / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def batches_dir() -> Path:
    """The inbox of production batches; the hourly drift monitor checks the newest file here."""
    path = state_dir() / "mlops" / "batches"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_training_path() -> Path:
    """The default training data (the base table), written on first use."""
    from include.mlops.data import load_base, write_batch

    path = data_dir() / "training.csv"
    if not path.exists():
        write_batch(load_base(), path)
    return path


def newest_batch() -> Path | None:
    """The most recently written batch in the inbox, or None."""
    files = [p for p in batches_dir().iterdir() if p.suffix in (".csv", ".parquet") and p.is_file()]
    return max(files, key=lambda p: (p.stat().st_mtime, p.name)) if files else None


def seed() -> dict[str, Any]:
    """Write the demo files; return their paths and the demo's ordered runs."""
    from include.mlops.data import generate_batch, write_batch

    training = default_training_path()
    clean = write_batch(generate_batch(400, seed=11), batches_dir() / "batch-001-clean.csv")
    drifted = write_batch(generate_batch(400, seed=12, changes=DRIFT_CHANGES), batches_dir() / "batch-002-drifted.csv")
    return {
        "training_data": str(training),
        "clean_batch": str(clean),
        "drifted_batch": str(drifted),
        "runs": [
            ("mlops_train_register", {"data_path": str(training)}),
            ("mlops_drift_monitor", {"batch_path": str(clean)}),
            ("mlops_drift_monitor", {"batch_path": str(drifted)}),
        ],
    }


def plan() -> list[dict]:
    """The demo runs of the MLOps family, in order (read by scripts/run_demo.py)."""
    runs = seed()["runs"]
    labels = [
        "train on the demo data: becomes champion",
        "clean production batch: no drift",
        "drifted production batch: asks to retrain",
    ]
    return [{"dag_id": dag_id, "label": label, "conf": conf} for (dag_id, conf), label in zip(runs, labels)]
