"""Headless Chromium for the UI tests, driven by Playwright.

The browser is Debian's ``chromium`` (scripts/setup.d/60-browser.sh), launched through
Playwright's ``executable_path``: Playwright's own browser download is not reachable here and not
needed. The page logs in the way the UI itself does after SimpleAuthManager's login page: the JWT
from ``POST /auth/token`` in the ``_token`` cookie.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from typing import Iterator

# what a root user in a container needs to run Chromium at all
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@contextmanager
def logged_in_page(binary: str, base_url: str, token: str, width: int = 1400, height: int = 1100) -> Iterator:
    """A Playwright ``Page`` of a fresh headless Chromium, logged in to the Airflow UI at ``base_url``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=binary, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([{"name": "_token", "value": token, "url": base_url}])
            yield context.new_page()
        finally:
            browser.close()
