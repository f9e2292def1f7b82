from include.common.errors import InputError
from include.common.paths import report_dir, state_dir


def test_report_dir_is_per_dag_and_run_and_safe(monkeypatch, tmp_path):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    folder = report_dir("mlops_train_register", "manual__2026-11-26T10:00:00+00:00")
    assert folder.is_dir()
    assert folder.parent == tmp_path / "reports" / "mlops_train_register"
    assert ":" not in folder.name and "+" not in folder.name
    assert state_dir() == tmp_path


def test_input_error_names_input_problem_and_fix():
    err = InputError("n_trials", "-1 is negative", "use a number from 1 to 500")
    assert str(err) == "n_trials: -1 is negative. Fix: use a number from 1 to 500"
    assert isinstance(err, ValueError)
