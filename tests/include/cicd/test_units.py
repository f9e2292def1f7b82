"""Small pure pieces: secrets baseline comparison, recorded advisories, lock pins, watch state, report."""

from __future__ import annotations

import json
from pathlib import Path

from include.cicd import watch
from include.cicd.audit import pins, recorded_matches
from include.cicd.report import log_summary, write_summary
from include.cicd.results import count_by_severity, read_stages, result, write_stage
from include.cicd.secret_scan import compare


def test_secrets_in_the_baseline_are_accepted_unless_audited_as_real():
    found = {"results": {"a.env": [{"type": "AWS Access Key", "hashed_secret": "h1", "line_number": 2}],
                         "b.py": [{"type": "Secret Keyword", "hashed_secret": "h2", "line_number": 7}]}}
    baseline = {"results": {"a.env": [{"hashed_secret": "h1", "is_secret": False}],
                            "b.py": [{"hashed_secret": "h2", "is_secret": True}]}}
    new, accepted = compare(found, baseline)
    assert accepted == 1 and [(f["file"], f["line"]) for f in new] == [("b.py", 7)]
    new, accepted = compare(found, None)
    assert accepted == 0 and len(new) == 2


def test_recorded_advisories_match_version_ranges(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("urllib3==1.26.5 \\\n    --hash=sha256:abc\nJinja2==3.1.6\nrequests[socks]==2.19.1\n")
    pinned = pins(lock)
    assert pinned == {"urllib3": "1.26.5", "jinja2": "3.1.6", "requests": "2.19.1"}
    ids = {(m["name"], m["id"]) for m in recorded_matches(pinned)}
    assert ("urllib3", "GHSA-v845-jxx5-vc9f") in ids
    assert ("requests", "GHSA-9wx4-h78v-vm56") in ids
    assert not any(name == "jinja2" for name, _ in ids)  # 3.1.6 is past every recorded fix


def test_watch_state_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    assert watch.last_sha("file:///r.git", "main") is None
    assert watch.record_sha("file:///r.git", "main", "a" * 40) == "a" * 40
    assert watch.last_sha("file:///r.git", "main") == "a" * 40
    assert watch.last_sha("file:///r.git", "dev") is None
    out = f"{'b' * 40}\trefs/heads/main-old\n{'c' * 40}\trefs/heads/main\n"
    assert watch.parse_ls_remote(out, "r", "main") == "c" * 40


def test_log_summary_and_report_files(tmp_path):
    findings = [{"tool": "bandit", "rule": "B602", "severity": "HIGH", "file": "src/a.py", "line": 9, "message": "shell"},
                {"tool": "bandit", "rule": "B404", "severity": "LOW", "file": "src/a.py", "line": 1, "message": "import"}]
    res = result("sast", "findings", "2 finding(s)", counts=count_by_severity(findings), findings=findings)
    text = log_summary(res)
    assert "HIGH=1, LOW=1" in text and "src/a.py:9" in text.splitlines()[2]
    write_stage(tmp_path, res)
    assert read_stages(tmp_path)["sast"]["counts"] == {"LOW": 1, "HIGH": 1}
    verdict = {"verdict": "fail", "reasons": [{"stage": "sast", "level": "fail", "message": "bandit: B602"}],
               "stages": {"sast": "fail"}}
    write_summary(tmp_path, {"repo_url": "file:///r.git", "gate_policy": "default.yaml"}, {"sast": res}, verdict)
    md = (tmp_path / "summary.md").read_text()
    assert "Gate verdict: FAIL" in md and "src/a.py:9" in md and "file:///r.git" in md and "`default.yaml`" in md
    assert "<h2>Gate verdict: FAIL</h2>" in (tmp_path / "summary.html").read_text()
    json.dumps(res)  # results stay JSON-able
    assert Path(tmp_path / "stages" / "sast.json").exists()


def test_missing_builder_gives_image_not_built(tmp_path, monkeypatch):
    from include.cicd import image

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setattr(image.shutil, "which", lambda name: None)
    res = image.build_image(tmp_path, "demo-app", "abc", tmp_path, "http://127.0.0.1:9")
    assert res["status"] == "not_built"
    assert res["message"].startswith("image: not built (no image builder: buildah is not installed")
