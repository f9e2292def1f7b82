"""UI check: every DAG's trigger form, opened in headless Chromium, shows each param with its
description. A screenshot per DAG is saved under ``$DELIVERY_STATE/artifacts/ui/<dag_id>.png``.

The browser logs in the way the UI itself does after SimpleAuthManager's login page: the JWT from
``POST /auth/token`` in the ``_token`` cookie. The Airflow 3 UI has no URL for the trigger form (it
is a modal of the DAG page), so the test opens ``/dags/<dag_id>`` and clicks "Trigger".
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from e2e.airflow_api import free_port, project_dag_ids
from e2e.browser import Browser, find_chromium
from fixtures._services import require_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DIALOG_TEXT = "[...document.querySelectorAll('[role=dialog]')].map(d => d.innerText).join('\\n')"
HAS_TRIGGER = "[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Trigger')"
CLICK_TRIGGER = """(() => {
  const buttons = [...document.querySelectorAll('button')].filter(b => b.innerText.trim() === 'Trigger');
  if (!buttons.length) return false;
  buttons[0].click();
  return true;
})()"""


# Every DAG's form must be submittable as it opens: triggering with the defaults is the demo path.


def submit_enabled(dag_id: str) -> str:
    """JS: is the dialog's own Trigger button enabled with the defaults filled in? (null: not found)"""
    return f"""(() => {{
  const d = [...document.querySelectorAll('[role=dialog]')].find(x => x.innerText.includes({f"Trigger Dag - {dag_id}"!r}));
  if (!d) return null;
  const b = [...d.querySelectorAll('button')].filter(x => x.innerText.trim() === 'Trigger').pop();
  return b ? !b.disabled : null;
}})()"""


def artifacts_dir() -> Path:
    from include.common.paths import state_dir

    return Path(os.environ.get("DELIVERY_TEST_ARTIFACTS") or state_dir() / "artifacts") / "ui"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


@pytest.fixture(scope="module")
def browser(airflow_api) -> Iterator[Browser]:
    binary = find_chromium()
    if not binary:
        require_service("Chromium", "the UI trigger-form check needs a headless browser",
                        "run scripts/setup.d/60-browser.sh as root (apt-get install chromium)")
    b = Browser(binary, free_port(), width=1400, height=1100)
    try:
        b.set_cookie("_token", airflow_api.token(), airflow_api.base_url)
        yield b
    finally:
        b.close()


def open_trigger_form(browser: Browser, base_url: str, dag_id: str) -> str:
    """Open the DAG page, click Trigger and return the trigger dialog's text once it shows."""
    browser.navigate(f"{base_url}/dags/{dag_id}")
    browser.wait_for(f"document.body.innerText.includes({dag_id!r}) && {HAS_TRIGGER}", timeout=120)
    browser.wait_for(CLICK_TRIGGER, timeout=30)
    title = f"Trigger Dag - {dag_id}"
    browser.wait_for(f"({DIALOG_TEXT}).includes({title!r})", timeout=60)
    return browser.evaluate(DIALOG_TEXT)


def test_every_trigger_form_shows_each_param_with_its_description(airflow_api, browser):
    expected = sorted(project_dag_ids())
    if not expected:
        pytest.skip("dags/ defines no DAG yet")
    airflow_api.wait_for_dags(expected)
    out = artifacts_dir()
    problems: list[str] = []
    shots = []
    for dag_id in expected:
        params = airflow_api.params(dag_id)
        try:
            open_trigger_form(browser, airflow_api.base_url, dag_id)
            wanted = [(name, squash((spec or {}).get("description") or "")) for name, spec in params.items()]
            # The form renders lazily: wait until the last description is on screen.
            if wanted:
                browser.wait_for(f"({DIALOG_TEXT}).replace(/\\s+/g, ' ').includes({wanted[-1][1]!r})", timeout=30)
            text = squash(browser.evaluate(DIALOG_TEXT))
            enabled = browser.evaluate(submit_enabled(dag_id))
        except (TimeoutError, RuntimeError) as exc:
            shots.append(browser.screenshot(out / f"{dag_id}.png"))
            problems.append(f"{dag_id}: trigger form did not open: {exc}")
            continue
        shots.append(browser.screenshot(out / f"{dag_id}.png"))
        if enabled is False:
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
