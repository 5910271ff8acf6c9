"""The code page in a real browser: a failed SMS said as failed with what to do, the SMS going
out shown in place, countdowns that say at zero what may be done now (frozen clock, no
sleeping), and a form posted during a database outage kept by the browser's Back."""

from __future__ import annotations

import datetime

import psycopg
import pytest
from django.db import OperationalError
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import VerificationCode
from accounts.sms import SmsPermanentError, circuit
from accounts.sms.backends import locmem
from tests.accounts.profile_helpers import signed_in
from tests.browser.resident_pages import use_session
from tests.browser.test_signin_browser import axe_serious_violations
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+819012345678"


@pytest.fixture(autouse=True)
def _providers_reset():
    locmem.reset()
    circuit.reset()
    yield
    locmem.reset()
    circuit.reset()


def ask_for_a_code(page) -> None:
    page.goto("/signin/")
    page.get_by_label("携帯電話番号").fill("090-1234-5678")
    page.get_by_role("button", name="認証コードを送信").click()
    page.get_by_role("heading", name="認証コードの入力").wait_for()


def test_failed_sms_is_said_with_what_to_do_and_at_zero_a_new_code_may_be_asked(page, screenshot):
    page.clock.install()
    locmem.fail_next(1, error=SmsPermanentError)  # the provider refuses this number
    ask_for_a_code(page)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("090-****-5678 に SMS を送信できませんでした。")
    expect(alert).to_contain_text("電話番号が正しいか確認してください。")
    expect(alert).to_contain_text("support@space-core.net")
    expect(alert.locator("[data-countdown]")).to_have_text("0:30")
    assert page.get_by_label("認証コード（6桁）").count() == 0
    assert axe_serious_violations(page) == []
    screenshot(page, "signin-code-failed-ja")

    page.clock.run_for(31_000)
    expect(alert).to_contain_text("今すぐ新しい認証コードを送信できます。")
    assert "0:00" not in alert.inner_text()
    screenshot(page, "signin-code-failed-at-zero-ja")
    alert.get_by_role("link", name="電話番号の入力に戻る").click()
    expect(page.get_by_label("携帯電話番号")).to_have_value("090-1234-5678")


def test_code_countdown_at_zero_says_the_code_expired_and_to_ask_again(page, screenshot):
    page.clock.install()
    ask_for_a_code(page)
    expect(page.get_by_text("090-****-5678 に SMS で6桁の認証コードを送信しました。")).to_be_visible()
    countdown = page.locator("[data-countdown]")
    expect(countdown).to_have_text("5:00")
    page.clock.run_for(301_000)
    expect(
        page.get_by_text("この認証コードは有効期限が切れています。新しい認証コードを送信してください。")
    ).to_be_visible()
    assert "0:00" not in page.locator("main").inner_text()
    screenshot(page, "signin-code-expired-at-zero-ja")


def test_sms_going_out_is_shown_in_place_and_the_typed_code_stays(page, monkeypatch):
    from accounts.services import verification

    # The worker has not taken the delivery yet.
    monkeypatch.setattr(verification, "_delivery_enqueue", lambda **kwargs: None)
    page.clock.install()
    ask_for_a_code(page)
    status = page.locator("[data-delivery]")
    expect(status).to_contain_text("090-****-5678 に SMS で6桁の認証コードを送信しています。")
    page.get_by_label("認証コード（6桁）").fill("12")
    VerificationCode.objects.filter(target=PHONE).update(delivery=VerificationCode.Delivery.SENT)
    page.clock.run_for(2_100)
    expect(status).to_contain_text("090-****-5678 に SMS で6桁の認証コードを送信しました。")
    expect(page.get_by_label("認証コード（6桁）")).to_have_value("12")


def test_sms_still_not_sent_after_20_seconds_reloads_into_the_late_notice(page, monkeypatch, screenshot):
    from accounts.services import verification

    monkeypatch.setattr(verification, "_delivery_enqueue", lambda **kwargs: None)
    page.clock.install()
    ask_for_a_code(page)
    VerificationCode.objects.filter(target=PHONE).update(created_at=timezone.now() - datetime.timedelta(seconds=21))
    page.clock.run_for(2_100)
    expect(page.locator("[data-delivery]")).to_contain_text("への SMS の送信に時間がかかっています。")
    expect(page.get_by_label("認証コード（6桁）")).to_be_visible()
    screenshot(page, "signin-code-late-ja")


def test_form_posted_during_a_database_outage_keeps_the_input_after_back(page, live_server, monkeypatch, screenshot):
    from accounts.views import profile as profile_views

    profile = ProfileFactory(nickname="まえ")
    use_session(page, live_server, signed_in(profile.user))
    page.goto("/mypage/myspacecore/")
    page.get_by_label("ニックネーム").fill("あたらしい")

    def database_lost(**kwargs):
        error = OperationalError("connection failed: Connection refused")
        error.__cause__ = psycopg.OperationalError("connection failed: Connection refused")
        raise error

    monkeypatch.setattr(profile_views, "profile_nickname_change", database_lost)
    page.get_by_role("button", name="設定情報変更").click()
    page.get_by_role("heading", name="ただいまご利用いただけません").wait_for()
    expect(page.get_by_role("alert")).to_contain_text("送信した内容は保存されていません。")
    screenshot(page, "database-outage-posted-ja")
    page.get_by_role("button", name="入力した画面に戻る").click()
    expect(page.get_by_label("ニックネーム")).to_have_value("あたらしい")
    profile.refresh_from_db()
    assert profile.nickname == "まえ"
