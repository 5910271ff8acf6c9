"""The home page in a real browser: text size switch with and without JavaScript."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESK, browser_page

pytestmark = pytest.mark.django_db(transaction=True)


def root_font_size(page) -> float:
    return page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")


def test_text_size_switch_changes_the_text_size_with_javascript(page, screenshot):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "ja"
    sizes = {}
    for label, size in (("小", "small"), ("標準", "standard"), ("大", "large")):
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_function(f"document.documentElement.classList.contains('text-{size}')")
        sizes[size] = root_font_size(page)
        screenshot(page, f"home-ja-text-{size}")
    assert sizes["small"] < sizes["standard"] < sizes["large"]
    # Remembered: a new page load keeps the last choice.
    page.goto("/")
    assert root_font_size(page) == sizes["large"]


def test_text_size_switch_works_without_javascript(browser, live_server, screenshot):
    with browser_page(browser, live_server, viewport=DESK, javascript=False) as page:
        page.goto("/")
        standard = root_font_size(page)
        page.get_by_role("button", name="大", exact=True).click()
        page.wait_for_load_state()
        assert "text-large" in page.locator("html").get_attribute("class")
        assert root_font_size(page) > standard
        screenshot(page, "home-ja-text-large-nojs")
