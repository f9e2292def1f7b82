"""The demo data set, the seeded batch generator, and reading/snapshotting a batch file.

The base table is scikit-learn's bundled Wisconsin breast-cancer set (569 rows, works offline).
Ten "mean ..." measurements are kept as numeric features; two categorical features are derived
deterministically: ``size_band`` (tertiles of ``mean_area``, so it carries signal) and ``clinic``
(a seeded random site, independent of the label). ``record_id`` is unique, ``malignant`` is the label.

``generate_batch`` turns the base table into "new production batches" with controllable changes
(see :class:`Changes`); the same seed and changes always give the same batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from include.common.errors import InputError
from include.mlops.constants import (
    CATEGORICAL_FEATURES,
    CATEGORY_VALUES,
    FEATURES,
    ID_COLUMN,
    LABEL,
    NUMERIC_FEATURES,
)

SUPPORTED_SUFFIXES = (".csv", ".parquet")


def load_base():
    """The base table (a new DataFrame each call), 569 rows, columns ``record_id``, features, label."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer(as_frame=True)
    frame = raw.frame
    out = pd.DataFrame({ID_COLUMN: np.arange(len(frame), dtype="int64")})
    for name in NUMERIC_FEATURES:
        out[name] = frame[name.replace("_", " ")].astype("float64")  # "mean concave points" etc.
    rng = np.random.default_rng(7)
    out["clinic"] = rng.choice(CATEGORY_VALUES["clinic"], size=len(out))
    tertiles = out["mean_area"].quantile([1 / 3, 2 / 3]).to_list()
    out["size_band"] = np.where(
        out["mean_area"] <= tertiles[0], "small", np.where(out["mean_area"] <= tertiles[1], "medium", "large")
    )
    # scikit-learn codes malignant as 0; the label here is 1 for malignant.
    out[LABEL] = (frame["target"] == 0).astype("int64")
    return out


@dataclass
class Changes:
    """What to change in a generated batch (every field optional; the default is a clean batch).

    - ``shift``: column -> shift of the mean in units of the column's standard deviation
      (covariate shift);
    - ``new_categories``: column -> (new value, fraction of rows that get it);
    - ``label_rate``: resample rows so that this fraction has label 1 (label/prior shift);
    - ``label_noise``: fraction of labels flipped;
    - ``nulls``: column -> fraction of values set missing (missing-value spike);
    - ``type_change``: columns whose numbers are written as text like ``"1,234.50 mm"``;
    - ``out_of_range``: column -> fraction of values made negative (physically impossible);
    - ``drop``: columns removed;
    - ``with_label``: keep the label column (production batches usually have none).
    """

    shift: dict[str, float] = field(default_factory=dict)
    new_categories: dict[str, tuple[str, float]] = field(default_factory=dict)
    label_rate: float | None = None
    label_noise: float = 0.0
    nulls: dict[str, float] = field(default_factory=dict)
    type_change: list[str] = field(default_factory=list)
    out_of_range: dict[str, float] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    with_label: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Changes:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(
                "batch changes", f"unknown change(s) {sorted(unknown)}", f"use only {sorted(cls.__dataclass_fields__)}"
            )
        if "new_categories" in data:
            data["new_categories"] = {k: tuple(v) for k, v in data["new_categories"].items()}
        changes = cls(**data)
        for col in [*changes.shift, *changes.nulls, *changes.type_change, *changes.out_of_range]:
            if col not in NUMERIC_FEATURES:
                raise InputError("batch changes", f"{col!r} is not a numeric feature", f"use one of {NUMERIC_FEATURES}")
        for col in changes.new_categories:
            if col not in CATEGORICAL_FEATURES:
                raise InputError(
                    "batch changes", f"{col!r} is not a categorical feature", f"use one of {CATEGORICAL_FEATURES}"
                )
        return changes


def generate_batch(n_rows: int = 500, seed: int = 0, changes: Changes | dict | None = None, base=None):
    """A seeded batch of ``n_rows`` rows drawn from the base table, with ``changes`` applied.

    Rows are bootstrapped from the base table with a small multiplicative jitter (1 %), so a
    clean batch has the base distribution without being a copy. ``record_id`` values are new and
    unique (``seed * 10_000_000 + i``).
    """
    import numpy as np
    import pandas as pd

    if n_rows < 0:
        raise InputError("n_rows", f"{n_rows} is negative", "ask for 0 or more rows")
    ch = changes if isinstance(changes, Changes) else Changes.from_dict(changes)
    base = load_base() if base is None else base
    rng = np.random.default_rng(seed)

    if ch.label_rate is not None:
        if not 0.0 <= ch.label_rate <= 1.0:
            raise InputError("label_rate", f"{ch.label_rate} is outside [0, 1]", "give a fraction")
        pos = base.index[base[LABEL] == 1].to_numpy()
        neg = base.index[base[LABEL] == 0].to_numpy()
        n_pos = int(round(n_rows * ch.label_rate))
        idx = np.concatenate([rng.choice(pos, n_pos), rng.choice(neg, n_rows - n_pos)])
        rng.shuffle(idx)
    else:
        idx = rng.integers(0, len(base), n_rows)
    batch = base.iloc[idx].reset_index(drop=True).copy()
    batch[ID_COLUMN] = np.arange(n_rows, dtype="int64") + int(seed) * 10_000_000

    stds = base[list(NUMERIC_FEATURES)].std()
    for col in NUMERIC_FEATURES:
        batch[col] = batch[col] * rng.normal(1.0, 0.01, n_rows)
    for col, k in ch.shift.items():
        batch[col] = batch[col] + float(k) * float(stds[col])
    for col, (value, frac) in ch.new_categories.items():
        mask = rng.random(n_rows) < float(frac)
        batch[col] = batch[col].astype(object)
        batch.loc[mask, col] = value
    if ch.label_noise:
        flip = rng.random(n_rows) < float(ch.label_noise)
        batch.loc[flip, LABEL] = 1 - batch.loc[flip, LABEL]
    for col, frac in ch.out_of_range.items():
        mask = rng.random(n_rows) < float(frac)
        batch.loc[mask, col] = -batch.loc[mask, col].abs() - 1.0
    for col, frac in ch.nulls.items():
        mask = rng.random(n_rows) < float(frac)
        batch.loc[mask, col] = np.nan
    for col in ch.type_change:
        batch[col] = batch[col].map(lambda v: f"{v:,.2f} mm" if pd.notna(v) else "")
    drop = list(ch.drop) + ([] if ch.with_label else [LABEL])
    missing = [c for c in ch.drop if c not in batch.columns]
    if missing:
        raise InputError("batch changes", f"cannot drop unknown column(s) {missing}", f"use columns of {FEATURES}")
    return batch.drop(columns=drop)


def write_batch(frame, path: str | Path) -> Path:
    """Write ``frame`` as CSV or Parquet (by suffix) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise InputError(str(path), f"unsupported file type {path.suffix!r}", f"use one of {SUPPORTED_SUFFIXES}")
    return path


def file_sha256(path: str | Path) -> str:
    """The content hash of a file (hex sha256), streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_batch(path: str | Path):
    """Read a batch file into a DataFrame, or raise :class:`InputError` saying why it cannot be read.

    Empty files, unknown suffixes and unparsable content all become an ``InputError`` (the
    validation step reports them like a failed expectation and quarantines the file).
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "the batch file does not exist", "check the data_path param or the Asset event")
    if path.suffix not in SUPPORTED_SUFFIXES:
        raise InputError(str(path), f"unsupported file type {path.suffix!r}", f"provide one of {SUPPORTED_SUFFIXES}")
    if path.stat().st_size == 0:
        raise InputError(str(path), "the batch file is empty (0 bytes)", "re-export the batch with a header and rows")
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except PermissionError as exc:
        raise InputError(str(path), f"the batch file is not readable ({exc})", "fix the file permissions") from exc
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"the batch file is not UTF-8 text ({exc.reason})", "export it as UTF-8 CSV") from exc
    except Exception as exc:  # pandas/pyarrow raise many types for corrupt files
        raise InputError(
            str(path), f"the batch file cannot be parsed ({type(exc).__name__}: {exc})", "export it again as CSV or Parquet"
        ) from exc
    if len(frame.columns) == 0:
        raise InputError(str(path), "the batch file has no columns", "re-export the batch with a header")
    return frame


def snapshot(path: str | Path) -> dict[str, Any]:
    """Lineage facts about a batch file: path, content hash, size, row count and schema.

    Works on any existing file (row count and schema are ``None`` when the file cannot be read,
    with the reason in ``read_error``); validation decides whether the batch is usable.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "the batch file does not exist", "check the data_path param or the Asset event")
    info: dict[str, Any] = {
        "path": str(path.resolve()),
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "rows": None,
        "schema": None,
        "read_error": None,
    }
    try:
        frame = read_batch(path)
    except InputError as exc:
        info["read_error"] = str(exc)
        return info
    info["rows"] = int(len(frame))
    info["schema"] = {str(c): str(t) for c, t in frame.dtypes.items()}
    return info


def split(frame, seed: int = 0, test_size: float = 0.25):
    """Stratified train/held-out split (deterministic for a seed). Returns (train, held_out)."""
    from sklearn.model_selection import train_test_split

    strat = frame[LABEL] if frame[LABEL].nunique() > 1 else None
    train, held = train_test_split(frame, test_size=test_size, random_state=seed, stratify=strat)
    return train.reset_index(drop=True), held.reset_index(drop=True)
