"""The ``sbom`` stage: CycloneDX JSON of the app's environment (cyclonedx-py environment)."""

from __future__ import annotations

import json
from pathlib import Path

from include.cicd.proc import ToolMissing, run, tool
from include.cicd.results import Status, result


def run_sbom(checkout: Path, venv: Path, report: Path) -> dict:
    out = report / "sbom.cdx.json"
    try:
        args = [tool("cyclonedx-py"), "environment", "--output-format", "JSON", "-o", str(out),
                "--output-reproducible"]
    except ToolMissing as exc:
        return result("sbom", Status.ERROR, str(exc))
    if (checkout / "pyproject.toml").exists():
        args += ["--pyproject", str(checkout / "pyproject.toml")]
    proc = run([*args, str(Path(venv) / "bin" / "python")], cwd=checkout, timeout=300)
    if proc.returncode != 0 or not out.exists():
        return result("sbom", Status.ERROR, f"cyclonedx-py failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    doc = json.loads(out.read_text())
    comps = doc.get("components", [])
    return result("sbom", Status.OK, f"CycloneDX {doc.get('specVersion')} SBOM with {len(comps)} components",
                  components=len(comps), files={"sbom": out.name}, seconds=round(proc.seconds, 2))
