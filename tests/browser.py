"""A real headless Chromium (Debian's package) driven by Playwright against `live_server`.

Browser tests skip where no Chromium is installed, except in CI (`REQUIRE_BROWSER=1`, set by
`.ci/run` after it installed Debian's `chromium`), where a missing browser fails the run.
"""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


@pytest.fixture
def browser_page(live_server, monkeypatch):
    """A German-speaking browser tab; yields (page, base_url)."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no chromium installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            yield page, live_server.url
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            test_name = os.environ.get("PYTEST_CURRENT_TEST", "page").split(":")[-1].split(" ")[0]
            page.screenshot(path=str(ARTIFACTS / f"{test_name}.png"), full_page=True)
            context.close()
            browser.close()
            live_server_requests_finish()
            # Database connections opened while Playwright runs live in its context: close
            # them in it, or the test database (PostgreSQL) cannot be dropped at the end.
            connections.close_all()


def live_server_requests_finish(timeout: float = 10) -> None:
    """The live server answers each browser connection in a thread that closes its database
    connection when the browser hangs up; wait for that, or the test database (PostgreSQL)
    cannot be dropped at the end of the session."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.05)


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base_url}/")
