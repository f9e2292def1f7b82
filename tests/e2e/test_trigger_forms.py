"""UI check: every DAG's trigger form, opened in headless Chromium (Playwright), shows each param with
its description. A screenshot per DAG is saved under ``$DELIVERY_STATE/artifacts/ui/<dag_id>.png``.

The Airflow 3 UI has no URL for the trigger form (it is a modal of the DAG page), so the test
opens ``/dags/<dag_id>`` and clicks "Trigger".
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from e2e.airflow_api import project_dag_ids
from e2e.browser import find_chromium, logged_in_page
from fixtures._services import require_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def artifacts_dir() -> Path:
    from include.common.paths import state_dir

    return Path(os.environ.get("DELIVERY_TEST_ARTIFACTS") or state_dir() / "artifacts") / "ui"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


@pytest.fixture(scope="module")
def page(airflow_api) -> Iterator:
    binary = find_chromium()
    if not binary:
        require_service("Chromium", "the UI trigger-form check needs a headless browser",
                        "run scripts/setup.d/60-browser.sh as root (apt-get install chromium)")
    with logged_in_page(binary, airflow_api.base_url, airflow_api.token()) as p:
        yield p


TRIGGER = re.compile(r"^\s*Trigger\s*$")  # the button's text (its accessible name differs between versions)


def open_trigger_form(page, base_url: str, dag_id: str):
    """Open the DAG page, click Trigger and return the trigger dialog once it shows."""
    page.goto(f"{base_url}/dags/{dag_id}")
    page.locator("button").filter(has_text=TRIGGER).first.click(timeout=120_000)
    dialog = page.get_by_role("dialog").filter(has_text=f"Trigger Dag - {dag_id}")
    dialog.wait_for(timeout=60_000)
    return dialog


def test_every_trigger_form_shows_each_param_with_its_description(airflow_api, page):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    expected = sorted(project_dag_ids())
    if not expected:
        pytest.skip("dags/ defines no DAG yet")
    airflow_api.wait_for_dags(expected)
    out = artifacts_dir()
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    shots = []
    for dag_id in expected:
        params = airflow_api.params(dag_id)
        shot = out / f"{dag_id}.png"
        try:
            dialog = open_trigger_form(page, airflow_api.base_url, dag_id)
            wanted = [(name, squash((spec or {}).get("description") or "")) for name, spec in params.items()]
            # The form renders lazily: wait until the last description is on screen.
            if wanted and wanted[-1][1]:
                expect(dialog).to_contain_text(wanted[-1][1], timeout=30_000)
            text = squash(dialog.inner_text())
            # Every DAG's form must be submittable as it opens: triggering with the defaults is the demo path.
            enabled = dialog.locator("button").filter(has_text=TRIGGER).last.is_enabled()
        except (AssertionError, PlaywrightError) as exc:
            page.screenshot(path=str(shot))
            shots.append(shot)
            problems.append(f"{dag_id}: trigger form did not open: {str(exc).splitlines()[0]}")
            continue
        page.screenshot(path=str(shot))
        shots.append(shot)
        if not enabled:
            message = (f"{dag_id}: the form's Trigger button is disabled with the defaults (a required param has "
                       "no value, e.g. an empty-string default of a non-null string type; use type=['null', 'string'])")
            problems.append(message)
        for name, description in wanted:
            if name not in text:
                problems.append(f"{dag_id}: param {name!r} is not in the form")
            if not description:
                problems.append(f"{dag_id}: param {name!r} has no description")
            elif description not in text:
                problems.append(f"{dag_id}: the description of {name!r} is not shown: {description!r}")
    assert not problems, "\n".join(problems) + f"\nscreenshots: {out}"
    assert all(p.exists() and p.stat().st_size > 10_000 for p in shots), f"empty screenshots in {out}"
