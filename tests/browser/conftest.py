"""The browser tier: Debian's chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.conftest import IN_CI

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# tryfirst: the marker must be on the items before `-m` selects among them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


PHONE = {"width": 375, "height": 812}
DESK = {"width": 1280, "height": 800}


@contextlib.contextmanager
def browser_page(browser, live_server, *, viewport: dict | None = PHONE, javascript: bool = True):
    """A page in a fresh browser context (its own cookies), Japanese, on the live server."""
    context = browser.new_context(
        java_script_enabled=javascript, locale="ja-JP", viewport=viewport, base_url=live_server.url
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server):
    """Phone-sized, as most residents see the site."""
    with browser_page(browser, live_server) as page:
        yield page


@pytest.fixture
def desk_page(browser, live_server):
    """Desktop-sized, as operator staff see the admin."""
    with browser_page(browser, live_server, viewport=DESK) as page:
        yield page


@pytest.fixture
def screenshot():
    """Save a screenshot under artifacts/screenshots/ (kept by CI) and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
