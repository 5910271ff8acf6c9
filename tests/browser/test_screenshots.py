"""Phone-first layout of every resident page, in both languages, and what each page loads.

Screenshots at 375×812 and 1280×800 (and 375 in large text) go to artifacts/screenshots/
for CI to keep. On a phone: no horizontal scrolling at any text size, and touch targets
of at least 44 px in the main content (links inside a sentence excepted, as in WCAG 2.5.8).
Every request goes to our own server, and the CSS and JavaScript of a page weigh < 50 kB.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.browser.resident_pages import JAPANESE_DATA, resident_pages

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
CSS_JS_BUDGET = 50_000
KANA_OR_KANJI = re.compile(r"[\u3040-\u30fa\u30fc-\u30ff\u4e00-\u9fff]")  # not ・, a separator

SET_TEXT_SIZE = """size => {
  const root = document.documentElement;
  root.classList.remove('text-small', 'text-standard', 'text-large');
  root.classList.add('text-' + size);
}"""

# Buttons, fields and links standing on their own in <main>, smaller than 44×44 CSS px.
SMALL_TARGETS = """() => {
  const small = [];
  for (const element of document.querySelectorAll(
      'main a[href], main button, main input:not([type=hidden]), main select, main textarea')) {
    if (!element.getClientRects().length) continue;
    if (element.tagName === 'A') {
      const block = element.parentElement;
      // A link inside a sentence is exempt (WCAG 2.5.8 "inline").
      if (block && block.textContent.trim() !== element.textContent.trim()) continue;
    }
    const target = element.matches('input[type=radio], input[type=checkbox]')
      ? (element.closest('label, .checkbox-row') || element) : element;
    const rect = target.getBoundingClientRect();
    if (rect.height < 43.5 || rect.width < 43.5) {
      small.push(`${element.outerHTML.slice(0, 80)} ${Math.round(rect.width)}x${Math.round(rect.height)}`);
    }
  }
  return small;
}"""

# Text shown in Japanese outside an element marked lang="ja" (the language switch's 日本語).
JAPANESE_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const owner = node.parentElement;
    if (!owner || owner.closest('[lang="ja"], script, style')) continue;
    if (/[\\u3040-\\u30ff\\u4e00-\\u9fff]/.test(node.textContent)) found.push(node.textContent.trim());
  }
  return found;
}"""

ASSETS = """() => [
  ...[...document.querySelectorAll('link[rel=stylesheet]')].map(link => link.href),
  ...[...document.querySelectorAll('script[src]')].map(script => script.src),
]"""


def untranslated(page) -> list[str]:
    """Japanese words on an English page that are not data a person typed."""
    return [text for text in page.evaluate(JAPANESE_TEXT) if KANA_OR_KANJI.search(JAPANESE_DATA.sub("", text))]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_page_fits_a_phone_and_loads_only_our_own_small_files(page, live_server, screenshot, language):
    own = urlsplit(live_server.url).netloc
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    asset_sizes: dict[str, int] = {}
    problems: list[str] = []
    visited = 0
    for name in resident_pages(page, live_server, language):
        visited += 1
        for size in ("small", "standard", "large"):
            page.evaluate(SET_TEXT_SIZE, size)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                problems.append(f"{name} text-{size}: scrolls sideways ({width} px)")
        page.evaluate(SET_TEXT_SIZE, "standard")
        if language == "en" and name != "error-500":
            problems += [f"{name}: not translated: {text!r}" for text in untranslated(page)]
        problems += [f"{name}: small target {target}" for target in page.evaluate(SMALL_TARGETS)]

        total = 0
        for url in page.evaluate(ASSETS):
            if url not in asset_sizes:
                asset_sizes[url] = len(page.request.get(url).body())
            total += asset_sizes[url]
        if total >= CSS_JS_BUDGET:
            problems.append(f"{name}: {total} bytes of CSS and JavaScript")

        screenshot(page, f"{language}-{name}-375")
        page.evaluate(SET_TEXT_SIZE, "large")
        screenshot(page, f"{language}-{name}-375-large")
        page.evaluate(SET_TEXT_SIZE, "standard")
        page.set_viewport_size(DESKTOP)
        screenshot(page, f"{language}-{name}-1280")
        page.set_viewport_size(PHONE)

    assert visited >= 40
    assert asset_sizes, "no stylesheet or script was found"
    outside = sorted({url for url in requests if urlsplit(url).netloc != own and not url.startswith("data:")})
    assert outside == []
    assert not problems, "\n".join(problems)
