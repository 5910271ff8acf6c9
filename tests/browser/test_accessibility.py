"""axe-core on every resident page, in Japanese and English, at each text size: 0 WCAG A/AA violations.

Plus the keyboard: a keyboard-only walk of registration and deletion, and the input types
phones need (numeric keypad and one-time-code autofill for codes, tel / email / nickname).
"""

from __future__ import annotations

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.core import mail
from django.test import Client

from accounts.models import Profile
from tests.accounts.profile_helpers import attributes_seed, code_in
from tests.browser.resident_pages import resident_pages, use_session
from tests.factories import ProfileFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db(transaction=True)

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TEXT_SIZES = ("small", "standard", "large")
SET_TEXT_SIZE = """size => {
  const root = document.documentElement;
  root.classList.remove('text-small', 'text-standard', 'text-large');
  root.classList.add('text-' + size);
}"""
AXE_RUN = "options => axe.run(document, options).then(results => results.violations)"


def axe_violations(page) -> dict[str, list[str]]:
    """Violations per text size; axe is injected once and the size switched as site.js does."""
    page.evaluate(AXE_SCRIPT)
    found = {}
    for size in TEXT_SIZES:
        page.evaluate(SET_TEXT_SIZE, size)
        violations = page.evaluate(AXE_RUN, {"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        found[size] = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in violations
        ]
    return found


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_resident_page_has_no_wcag_violations(page, live_server, language):
    problems = []
    visited = []
    for name in resident_pages(page, live_server, language):
        visited.append(name)
        assert page.locator("html").get_attribute("lang") == language or name == "error-500", name
        for size, violations in axe_violations(page).items():
            problems += [f"{language} {name} text-{size}: {violation}" for violation in violations]
    assert len(visited) >= 40
    assert problems == []


# Keyboard only: Tab order, visible focus, the error summary after a failed submit.

FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    id: element.id || element.getAttribute('name') || element.textContent.trim().slice(0, 20),
    tag: element.tagName.toLowerCase(),
    visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    summary: element.hasAttribute('data-error-summary'),
  };
}"""


def tab_until(page, wanted: str, limit: int = 40) -> list[dict]:
    """Press Tab until the element with this id (or name) has the focus; every stop must show its focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        stops.append(focused)
        assert focused["visible"], f"no visible focus on {focused}"
        if focused["id"] == wanted:
            return stops
    raise AssertionError(f"{wanted} never got the focus: {[stop['id'] for stop in stops]}")


def test_registration_by_keyboard_only(page, live_server):
    attributes_seed()
    user = ResidentFactory(attribute=attribute("owner"))
    client = Client()
    client.force_login(user)
    use_session(page, live_server, client)
    page.goto("/mypage/myspacecore/register/")

    # The first Tab reaches the skip link; the fields follow one another in reading order.
    page.keyboard.press("Tab")
    assert page.locator(".skip-link").evaluate("element => element === document.activeElement")
    tab_until(page, "id_nickname")
    assert [stop["id"] for stop in tab_until(page, "id_gender_0", limit=2)] == ["id_birth_year", "id_gender_0"]
    # A failed submit: Enter on the first field sends the empty form; the summary takes the focus.
    page.locator("#id_nickname").focus()
    page.keyboard.press("Enter")
    page.locator("[data-error-summary]").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.hasAttribute('data-error-summary')")
    assert page.evaluate(FOCUSED)["summary"]

    # From the summary, fill everything with the keyboard.
    tab_until(page, "id_nickname")
    page.keyboard.type("かえで")
    tab_until(page, "id_birth_year", limit=1)
    page.keyboard.type("1975")
    tab_until(page, "id_gender_0", limit=1)
    page.keyboard.press("ArrowDown")  # in a radio group the arrows move and select
    tab_until(page, "次へ")
    page.keyboard.press("Enter")

    page.locator("#id_email").wait_for()
    tab_until(page, "id_email")
    page.keyboard.type("kaede@example.jp")
    page.keyboard.press("Enter")
    page.locator("#id_code").wait_for()
    tab_until(page, "id_code")
    page.keyboard.type(code_in(mail.outbox[-1].body))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="設定内容の確認").wait_for()
    tab_until(page, "設定完了")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="登録が完了しました").wait_for()
    tab_until(page, "利用開始")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="マイページ").wait_for()
    profile = Profile.objects.get(user=user)
    assert (profile.nickname, profile.birth_year, profile.gender, profile.email) == (
        "かえで",
        1975,
        Profile.Gender.FEMALE,
        "kaede@example.jp",
    )


def test_deletion_by_keyboard_only(page, live_server):
    attributes_seed()
    user = ProfileFactory().user
    client = Client()
    client.force_login(user)
    use_session(page, live_server, client)
    page.goto("/mypage/myspacecore/deletion/")
    # Submitting without the tick: the summary is focused and says what to do.
    tab_until(page, "deletion-submit")
    page.keyboard.press("Enter")
    page.locator("[data-error-summary]").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.hasAttribute('data-error-summary')")
    tab_until(page, "id_agree")
    page.keyboard.press("Space")
    tab_until(page, "deletion-submit")
    page.keyboard.press("Enter")
    page.locator("#deletion-confirm").wait_for()
    tab_until(page, "deletion-confirm")
    page.keyboard.press("Enter")
    page.locator("#deletion-ok").wait_for()
    tab_until(page, "deletion-ok")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="電話番号でサインイン").wait_for()
    assert not Profile.objects.filter(pk=user.profile.pk).exists()


# The inputs phones need: the right keyboard and autofill.


@pytest.mark.parametrize(
    ("path", "selector", "attributes"),
    [
        ("/signin/", "#id_phone_number", {"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        ("/mypage/myspacecore/register/", "#id_nickname", {"type": "text", "autocomplete": "nickname"}),
        ("/mypage/myspacecore/register/email/", "#id_email", {"type": "email", "autocomplete": "email"}),
        (
            "/mypage/myspacecore/register/code/",
            "#id_code",
            {"inputmode": "numeric", "autocomplete": "one-time-code"},
        ),
        ("/mypage/myspacecore/phone/", "#id_phone_number", {"type": "tel", "autocomplete": "tel"}),
        ("/mypage/myspacecore/email/", "#id_email", {"type": "email", "autocomplete": "email"}),
        (
            "/signin/code/",
            "#id_code",
            {"inputmode": "numeric", "autocomplete": "one-time-code"},
        ),
        ("/help/", "#id_q", {"type": "search"}),
    ],
)
def test_inputs_bring_up_the_right_keyboard_and_autofill(page, live_server, path, selector, attributes):
    attributes_seed()
    user = ResidentFactory(attribute=attribute("owner"))
    client = Client()
    if path.startswith("/signin/code/"):
        client.post("/signin/", {"phone_number": "090-5555-0101"})
    elif "register" in path:
        client.force_login(user)
        client.post("/mypage/myspacecore/register/", {"nickname": "な", "birth_year": "1990", "gender": "other"})
        if path.endswith("/code/"):
            client.post("/mypage/myspacecore/register/email/", {"email": "na@example.jp"})
    elif path.startswith("/mypage/"):
        ProfileFactory(user=user)
        client.force_login(user)
    if "sessionid" in client.cookies:
        use_session(page, live_server, client)
    page.goto(path)
    field = page.locator(selector)
    for name, value in attributes.items():
        assert field.get_attribute(name) == value, (path, name)
