"""The home page in a real browser: text size switch with and without JavaScript."""

from __future__ import annotations

import pytest

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
    context = browser.new_context(java_script_enabled=False, locale="ja-JP", base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto("/")
        standard = root_font_size(page)
        page.get_by_role("button", name="大", exact=True).click()
        page.wait_for_load_state()
        assert "text-large" in page.locator("html").get_attribute("class")
        assert root_font_size(page) > standard
        screenshot(page, "home-ja-text-large-nojs")
    finally:
        context.close()
