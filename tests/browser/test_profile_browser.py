"""The edit page in a real browser, as a resident uses it (Japanese, phone-sized)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts import sms
from accounts.models import Profile, User
from tests.accounts.profile_helpers import attributes_seed, axe_serious_violations, code_in
from tests.factories import LeaseFactory, ProfileFactory, attribute

# serialized_rollback like the team's other transactional tests (their flush must not re-run
# post_migrate); the fixture below covers pytest-django#1117 where the restore is skipped.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _seeded_attributes(transactional_db):
    attributes_seed()


NEW_PHONE = "+819087654321"


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def open_edit_page(page) -> None:
    page.goto("/mypage/")
    page.locator("#main").get_by_role("link", name="MySpaceCore").click()
    page.get_by_role("heading", name="MySpaceCore", exact=True).wait_for()


def test_nickname_change_with_read_only_basics(page, live_server, screenshot):
    profile = ProfileFactory(user__attribute=attribute("owner"), nickname="さくら", birth_year=1990)
    sign_in(page, live_server, profile.user)
    open_edit_page(page)
    assert page.get_by_text("1990年").is_visible()
    assert page.locator("[name=birth_year], [name=gender]").count() == 0
    screenshot(page, "profile-edit-owner")
    assert axe_serious_violations(page) == []
    page.get_by_label("ニックネーム").fill("あ" * 11)
    page.get_by_role("button", name="設定情報変更").click()
    assert page.get_by_text("10文字以内で入力してください。", exact=False).first.is_visible()
    assert page.get_by_label("ニックネーム").input_value() == "あ" * 11
    screenshot(page, "profile-edit-nickname-error")
    assert axe_serious_violations(page) == []
    page.get_by_label("ニックネーム").fill("もも")
    page.get_by_role("button", name="設定情報変更").click()
    assert page.get_by_text("ニックネームを変更しました。").is_visible()
    profile.refresh_from_db()
    assert profile.nickname == "もも"


def test_phone_change_by_sms_code(page, live_server, screenshot):
    profile = ProfileFactory(user__attribute=attribute("owner"))
    old_phone = profile.user.phone_number.as_e164
    sign_in(page, live_server, profile.user)
    open_edit_page(page)
    page.locator("#phone-item").get_by_role("link", name="変更する").click()
    page.get_by_label("新しい電話番号").fill("090-8765-4321")
    screenshot(page, "profile-phone-1-number")
    assert axe_serious_violations(page) == []
    page.get_by_role("button", name="送信する").click()
    page.get_by_role("heading", name="認証コードの入力").wait_for()
    screenshot(page, "profile-phone-2-code")
    assert axe_serious_violations(page) == []
    code = code_in(next(message.body for message in sms.outbox if message.to == NEW_PHONE))
    page.get_by_label("認証コード").fill(code)
    page.get_by_role("button", name="認証する").click()
    assert page.get_by_text("電話番号を変更しました。", exact=False).is_visible()
    assert page.get_by_text("090-8765-4321").is_visible()
    screenshot(page, "profile-phone-3-done")
    assert User.objects.get(pk=profile.user.pk).phone_number.as_e164 == NEW_PHONE
    assert any(message.to == old_phone for message in sms.outbox)


def test_email_set_by_code(page, live_server, screenshot):
    profile = ProfileFactory(user__attribute=attribute("rental_resident"), email=None)
    sign_in(page, live_server, profile.user)
    open_edit_page(page)
    page.locator("#email-item").get_by_role("link", name="設定する").click()
    page.get_by_label("メールアドレス").fill("sakura@example.jp")
    screenshot(page, "profile-email-1-address")
    page.get_by_role("button", name="送信する").click()
    page.get_by_role("heading", name="認証コードの入力").wait_for()
    assert page.get_by_text("noreply@my.space-core.net").is_visible()
    screenshot(page, "profile-email-2-code")
    assert axe_serious_violations(page) == []
    page.get_by_label("認証コード").fill(code_in(mail.outbox[-1].body))
    page.get_by_role("button", name="認証する").click()
    assert page.get_by_text("メールアドレスを設定しました。").is_visible()
    assert page.locator("#email-item").get_by_role("link", name="変更する").is_visible()
    screenshot(page, "profile-email-3-done")
    assert Profile.objects.get(pk=profile.pk).email == "sakura@example.jp"


def test_rental_resident_sees_the_management_company_contact(page, live_server, screenshot):
    profile = ProfileFactory(user__attribute=attribute("rental_resident"))
    lease = LeaseFactory(resident=profile.user, phone_number=profile.user.phone_number.as_e164)
    sign_in(page, live_server, profile.user)
    open_edit_page(page)
    assert page.get_by_text("管理会社様にご連絡の上、電話番号の変更をご依頼ください").is_visible()
    assert page.get_by_text(lease.unit.property.operator.name).is_visible()
    assert page.locator("#phone-item").get_by_role("link", name="変更する").count() == 0
    screenshot(page, "profile-edit-rental-resident")
    assert axe_serious_violations(page) == []


def test_managed_account_sees_no_email_or_phone_change(page, live_server, screenshot):
    profile = ProfileFactory(user__attribute=attribute("managed"))
    sign_in(page, live_server, profile.user)
    open_edit_page(page)
    assert page.get_by_role("link", name="変更する").count() == 0
    assert page.get_by_role("link", name="設定する").count() == 0
    screenshot(page, "profile-edit-managed")
