"""Issue 16 in a real browser: what a resident sees on a phone (390×844) and on a desktop.

Screenshots of each changed page at both sizes go to artifacts/screenshots/issue16-*.png.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.accounts.profile_helpers import attributes_seed, axe_serious_violations
from tests.browser.conftest import browser_page
from tests.browser.resident_pages import client_for, go, use_session
from tests.factories import LeaseFactory, OperatorFactory, ProfileFactory, ResidentFactory, attribute
from tests.smarthome.factories import PinCodeFactory, RemoteControlSettingFactory, SmartLockFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_390 = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE_390, "desktop": DESKTOP}


@pytest.fixture(autouse=True)
def _attributes(transactional_db):
    attributes_seed()


def signed_in_page(page, live_server, user) -> None:
    use_session(page, live_server, client_for("ja", user))


def rental_resident():
    user = ProfileFactory(user=ResidentFactory(attribute=attribute("rental_resident")), nickname="さくら").user
    operator = OperatorFactory(name="さくら管理", contact_phone="03-1234-5678", contact_email="desk@sakura.example")
    LeaseFactory(resident=user, phone_number=user.phone_number.as_e164, unit__property__operator=operator)
    return user


# Point 10: the page's own content first on a phone, the switches one tap away
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_page_content_starts_in_the_first_screen_and_the_switches_stay_reachable(
    browser, live_server, screenshot, size
):
    user = ProfileFactory(nickname="さくら").user
    with browser_page(browser, live_server, viewport=SIZES[size]) as page:
        signed_in_page(page, live_server, user)
        for path, name in (("/mypage/", "mypage"), ("/mypage/myspacecore/", "profile")):
            go(page, path)
            heading = page.locator("main h1").bounding_box()
            header = page.locator(".site-header").bounding_box()
            assert heading is not None and header is not None
            # Before: the header with both switches took about a third of a phone's first screen.
            assert header["height"] <= 0.12 * SIZES[size]["height"], header
            assert heading["y"] + heading["height"] <= 0.25 * SIZES[size]["height"], heading
            screenshot(page, f"issue16-header-{name}-{size}")

        page.get_by_role("link", name="文字サイズ · Language").click()
        assert page.url.endswith("#display-settings")
        settings_box = page.locator("#display-settings")
        assert settings_box.get_by_role("button", name="大").is_visible()
        settings_box.get_by_role("button", name="English").click()
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("link", name="Text size · 日本語").is_visible()
        screenshot(page, f"issue16-display-settings-en-{size}")
        assert axe_serious_violations(page) == []


def test_the_switches_work_without_javascript_from_their_new_place(browser, live_server):
    with browser_page(browser, live_server, viewport=PHONE_390, javascript=False) as page:
        go(page, "/signin/")
        page.get_by_role("link", name="文字サイズ · Language").click()
        page.locator("#display-settings").get_by_role("button", name="大").click()
        page.wait_for_load_state("load")
        assert "text-large" in (page.locator("html").get_attribute("class") or "")
        assert page.url.endswith("/signin/")


# Point 8: after signing out, Back shows no personal data from the cache
# ------------------------------------------------------------------------------


def test_back_after_signing_out_does_not_show_the_phone_number(page, live_server, screenshot):
    user = ProfileFactory(nickname="さくら").user
    number = user.phone_number.as_national
    signed_in_page(page, live_server, user)
    go(page, "/mypage/myspacecore/")
    assert page.get_by_text(number).is_visible()
    page.get_by_role("button", name="サインアウト").click()
    page.wait_for_url("**/signin/")

    page.go_back()
    page.wait_for_load_state("load")

    assert number not in page.content()
    assert "/signin/" in page.url
    screenshot(page, "issue16-back-after-signout-phone")


# Point 6: the phone-change page opened directly by a rental resident
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_rental_resident_opening_the_phone_page_sees_whom_to_ask(browser, live_server, screenshot, size):
    user = rental_resident()
    with browser_page(browser, live_server, viewport=SIZES[size]) as page:
        signed_in_page(page, live_server, user)
        go(page, "/mypage/myspacecore/phone/")
        main = page.locator("main")
        assert main.get_by_text("管理会社様にご連絡の上、電話番号の変更をご依頼ください。").is_visible()
        assert main.get_by_text("さくら管理").is_visible()
        assert main.get_by_role("link", name="03-1234-5678").get_attribute("href") == "tel:03-1234-5678"
        assert main.locator("input[name=phone_number]").count() == 0
        screenshot(page, f"issue16-phone-change-rental-{size}")
        assert axe_serious_violations(page) == []


# Point 7: the PIN masked with a show toggle; the 和暦 list; the long help query
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_pin_is_masked_and_a_button_shows_it(browser, live_server, screenshot, size):
    user = ProfileFactory().user
    lock = SmartLockFactory(owner_user=user)
    with browser_page(browser, live_server, viewport=SIZES[size]) as page:
        signed_in_page(page, live_server, user)
        go(page, f"/mypage/smarthome/devices/{lock.pk}/pins/add/")
        pin = page.locator("input[name=pin]")
        pin.fill("583920")
        assert pin.get_attribute("type") == "password"
        toggle = page.get_by_role("button", name="暗証番号を表示")
        toggle.click()
        assert pin.get_attribute("type") == "text"
        assert page.get_by_role("button", name="暗証番号を隠す").is_visible()
        screenshot(page, f"issue16-pin-shown-{size}")
        assert axe_serious_violations(page) == []
        page.get_by_role("button", name="暗証番号を隠す").click()
        assert pin.get_attribute("type") == "password"
        screenshot(page, f"issue16-pin-masked-{size}")


def test_the_pin_is_masked_without_javascript_and_the_form_works(browser, live_server):
    user = ProfileFactory().user
    lock = SmartLockFactory(owner_user=user)
    with browser_page(browser, live_server, viewport=PHONE_390, javascript=False) as page:
        signed_in_page(page, live_server, user)
        go(page, f"/mypage/smarthome/devices/{lock.pk}/pins/add/")
        pin = page.locator("input[name=pin]")
        assert pin.get_attribute("type") == "password"
        assert page.get_by_role("button", name="暗証番号を表示").count() == 0
        page.locator("input[name=label]").fill("家族用")
        pin.fill("583920")
        page.get_by_role("button", name="設定する").click()
        page.wait_for_load_state("load")
        assert page.get_by_text("暗証番号を追加しました。").is_visible()
        assert "583920" not in page.content()


def test_the_birth_year_list_shows_japanese_eras(page, live_server, screenshot):
    signed_in_page(page, live_server, ResidentFactory())
    go(page, "/mypage/myspacecore/register/")
    select = page.get_by_label("生年")
    select.select_option("1989")
    assert select.locator("option:checked").inner_text() == "1989（昭和64年／平成元年）"
    assert page.locator("option[value='1980']").inner_text() == "1980（昭和55年）"
    screenshot(page, "issue16-register-birth-year-phone")


@pytest.mark.parametrize("size", SIZES)
def test_a_ten_thousand_character_help_query_gets_the_styled_page(browser, live_server, screenshot, size):
    with browser_page(browser, live_server, viewport=SIZES[size]) as page:
        go(page, "/help/")
        box = page.get_by_role("searchbox", name="ヘルプを検索")
        box.fill("認証コード" * 2000)
        assert len(box.input_value()) == 100  # the box takes no more: no URL a server refuses
        page.get_by_role("button", name="検索").click()
        page.wait_for_load_state("load")
        assert page.locator(".site-header").is_visible()
        assert page.get_by_role("heading", level=1, name="ヘルプ").is_visible()
        assert page.get_by_role("heading", name="検索結果", exact=False).is_visible()
        screenshot(page, f"issue16-help-long-query-{size}")


def test_a_longer_query_that_reaches_the_site_gets_our_error_not_a_bare_page(page, live_server, screenshot):
    response = page.goto("/help/?q=" + "a" * 10_000)
    assert response is not None and response.status == 200
    message = "「ヘルプを検索」は100文字以内で入力してください（入力は10000文字です）。"
    assert page.locator(".field .errors").get_by_text(message).is_visible()
    screenshot(page, "issue16-help-query-too-long-phone")


# Point 2: the language outlives the browser session and follows the account
# ------------------------------------------------------------------------------


def test_english_stays_after_the_browser_is_closed_and_follows_the_account(browser, live_server):
    user = ProfileFactory().user
    with browser_page(browser, live_server, viewport=PHONE_390) as page:
        signed_in_page(page, live_server, user)
        go(page, "/mypage/")
        page.locator("#display-settings").get_by_role("button", name="English").click()
        page.wait_for_load_state("load")
        kept = [cookie for cookie in page.context.cookies() if cookie["expires"] != -1]
    names = {cookie["name"] for cookie in kept}
    assert settings.LANGUAGE_COOKIE_NAME in names

    # The browser closed: only cookies with an expiry come back.
    with browser_page(browser, live_server, viewport=PHONE_390) as page:
        page.context.add_cookies(kept)
        go(page, "/signin/")
        assert page.locator("html").get_attribute("lang") == "en"
    user.refresh_from_db()
    assert user.language == "en"


# Point 11: the data as a page to read and print
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_data_page_reads_and_prints(browser, live_server, screenshot, size):
    user = rental_resident()
    lock = SmartLockFactory(owner_user=user, name="玄関のスマートロック")
    PinCodeFactory(device=lock, label="家族用", pin="706093")
    RemoteControlSettingFactory(device=lock, name="リビングのエアコン", maker="ダイキン")
    with browser_page(browser, live_server, viewport=SIZES[size]) as page:
        signed_in_page(page, live_server, user)
        go(page, "/mypage/myspacecore/")
        page.get_by_role("link", name="登録されているデータを見る・印刷する").click()
        page.wait_for_load_state("load")
        main = page.locator("main")
        assert main.get_by_text(str(user.phone_number), exact=True).is_visible()
        assert main.get_by_text("さくら管理").first.is_visible()
        assert main.get_by_text("家族用").is_visible()
        assert "706093" not in page.content()
        assert page.get_by_role("button", name="印刷する").is_visible()
        screenshot(page, f"issue16-data-page-{size}")
        assert axe_serious_violations(page) == []
        page.emulate_media(media="print")
        assert not page.locator(".site-header").is_visible()
        assert not page.get_by_role("button", name="印刷する").is_visible()
        screenshot(page, f"issue16-data-page-print-{size}")
