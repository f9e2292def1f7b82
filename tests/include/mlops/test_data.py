"""The base table, the seeded batch generator and batch reading."""

from __future__ import annotations

import pytest

from include.common.errors import InputError
from include.mlops.constants import FEATURES, ID_COLUMN, LABEL
from include.mlops.data import generate_batch, load_base, read_batch, snapshot, write_batch


def test_base_table_shape_and_label():
    base = load_base()
    assert len(base) == 569
    assert list(base.columns) == [ID_COLUMN, *FEATURES, LABEL]
    assert base[LABEL].sum() == 212  # malignant cases in the Wisconsin data
    assert base[ID_COLUMN].is_unique


def test_generator_is_deterministic_and_seed_sensitive():
    a = generate_batch(100, seed=3)
    b = generate_batch(100, seed=3)
    c = generate_batch(100, seed=4)
    assert a.equals(b)
    assert not a.equals(c)
    assert a[ID_COLUMN].is_unique and not set(a[ID_COLUMN]) & set(c[ID_COLUMN])


def test_changes_apply():
    clean = generate_batch(2000, seed=1)
    shifted = generate_batch(2000, seed=1, changes={"shift": {"mean_radius": 2.0}})
    assert shifted["mean_radius"].mean() - clean["mean_radius"].mean() > 5
    rate = generate_batch(1000, seed=1, changes={"label_rate": 0.8})
    assert rate[LABEL].mean() == pytest.approx(0.8, abs=0.01)
    new = generate_batch(1000, seed=1, changes={"new_categories": {"clinic": ["central", 0.3]}})
    assert (new["clinic"] == "central").mean() == pytest.approx(0.3, abs=0.05)
    nulls = generate_batch(1000, seed=1, changes={"nulls": {"mean_area": 0.5}})
    assert nulls["mean_area"].isna().mean() == pytest.approx(0.5, abs=0.05)
    typed = generate_batch(10, seed=1, changes={"type_change": ["mean_area"]})
    assert typed["mean_area"].map(type).eq(str).all()
    dropped = generate_batch(10, seed=1, changes={"drop": ["mean_symmetry"], "with_label": False})
    assert "mean_symmetry" not in dropped and LABEL not in dropped


def test_unknown_change_is_an_input_error():
    with pytest.raises(InputError, match="unknown change"):
        generate_batch(10, changes={"explode": True})
    with pytest.raises(InputError, match="not a numeric feature"):
        generate_batch(10, changes={"shift": {"clinic": 1}})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_roundtrip_and_snapshot(tmp_path, suffix):
    frame = generate_batch(50, seed=2)
    path = write_batch(frame, tmp_path / f"b{suffix}")
    assert len(read_batch(path)) == 50
    snap = snapshot(path)
    assert snap["rows"] == 50 and len(snap["sha256"]) == 64 and snap["read_error"] is None
    assert snap["schema"]["mean_radius"] == "float64"


@pytest.mark.parametrize("content,words", [(b"", "empty"), (b"\xff\xfe\x00garbage\x00\xff", "cannot be parsed|not UTF-8")],
                         ids=["empty", "unreadable"])
def test_bad_files_are_input_errors_and_snapshot_survives(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        read_batch(path)
    snap = snapshot(path)
    assert snap["rows"] is None and snap["read_error"]


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        snapshot(tmp_path / "nope.csv")
    (tmp_path / "x.txt").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="unsupported file type"):
        read_batch(tmp_path / "x.txt")
