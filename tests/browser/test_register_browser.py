"""The registration wizard in a real browser, as a new resident walks it (Japanese, phone-sized)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Profile
from tests.accounts.profile_helpers import attributes_seed, axe_serious_violations, code_in
from tests.factories import ResidentFactory, attribute

# serialized_rollback like the team's other transactional tests (their flush must not re-run
# post_migrate); the fixture below covers pytest-django#1117 where the restore is skipped.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _seeded_attributes(transactional_db):
    attributes_seed()


def sign_in(page, live_server, user) -> None:
    """Copy a signed-in session cookie into the browser (the sign-in pages are tested elsewhere)."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def fill_basics(page, *, nickname: str) -> None:
    page.get_by_label("ニックネーム").fill(nickname)
    page.get_by_label("生年").select_option("1990")
    page.get_by_label("女性").check()


def test_registration_with_the_email_step(page, live_server, screenshot):
    user = ResidentFactory(attribute=attribute("owner"))
    sign_in(page, live_server, user)
    page.goto("/mypage/")
    assert page.url.endswith("/mypage/myspacecore/register/")
    page.get_by_role("heading", name="MySpaceCore の登録").wait_for()
    fill_basics(page, nickname="さくら👨‍👩‍👧")
    screenshot(page, "register-1-basics")
    assert axe_serious_violations(page) == []
    page.get_by_role("button", name="次へ").click()

    page.get_by_role("heading", name="メールアドレスの入力").wait_for()
    page.get_by_label("メールアドレス").fill("sakura@example.jp")
    screenshot(page, "register-2-email")
    assert axe_serious_violations(page) == []
    page.get_by_role("button", name="送信", exact=True).click()

    page.get_by_role("heading", name="認証コードの入力").wait_for()
    assert page.get_by_text("noreply@my.space-core.net").is_visible()
    assert page.get_by_text("迷惑メール", exact=False).first.is_visible()
    assert re.fullmatch(r"[45]:\d\d", page.locator("[data-countdown]").inner_text())
    screenshot(page, "register-3-code")
    assert axe_serious_violations(page) == []
    assert mail.outbox[-1].subject == "SpaceCore 認証コードのご案内"
    page.get_by_label("認証コード").fill(code_in(mail.outbox[-1].body))
    page.get_by_role("button", name="認証する").click()

    page.get_by_role("heading", name="設定内容の確認").wait_for()
    assert page.get_by_text("sakura@example.jp").is_visible()
    assert not Profile.objects.filter(user=user).exists()
    screenshot(page, "register-4-confirm")
    assert axe_serious_violations(page) == []
    page.get_by_role("button", name="設定完了").click()

    page.get_by_role("heading", name="登録が完了しました").wait_for()
    screenshot(page, "register-5-done")
    assert axe_serious_violations(page) == []
    page.get_by_role("link", name="利用開始").click()
    page.get_by_role("heading", name="マイページ").wait_for()
    assert page.get_by_text("さくら👨‍👩‍👧 さん、こんにちは。").is_visible()
    screenshot(page, "register-6-mypage")
    profile = Profile.objects.get(user=user)
    assert (profile.nickname, profile.email) == ("さくら👨‍👩‍👧", "sakura@example.jp")


def test_registration_without_the_email_step(page, live_server, screenshot):
    user = ResidentFactory(attribute=attribute("managed"))
    sign_in(page, live_server, user)
    page.goto("/mypage/myspacecore/register/")
    fill_basics(page, nickname="もも")
    page.get_by_role("button", name="次へ").click()
    page.get_by_role("heading", name="設定内容の確認").wait_for()
    assert page.get_by_text("メールアドレス").count() == 0
    screenshot(page, "register-managed-confirm")
    page.get_by_role("button", name="設定完了").click()
    page.get_by_role("link", name="利用開始").click()
    assert page.get_by_text("もも さん、こんにちは。").is_visible()
    assert Profile.objects.get(user=user).email is None


def test_wrong_code_sends_back_to_the_email_step_with_a_countdown(page, live_server, screenshot):
    user = ResidentFactory(attribute=attribute("rental_resident"))
    sign_in(page, live_server, user)
    page.goto("/mypage/myspacecore/register/")
    fill_basics(page, nickname="さくら")
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("メールアドレス").fill("sakura@example.jp")
    page.get_by_role("button", name="送信", exact=True).click()
    code = code_in(mail.outbox[-1].body)
    page.get_by_label("認証コード").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="認証する").click()

    page.get_by_role("heading", name="メールアドレスの入力").wait_for()
    assert page.get_by_text("認証コードが正しくありません", exact=False).is_visible()
    assert page.get_by_label("メールアドレス").input_value() == "sakura@example.jp"
    assert page.get_by_role("button", name="送信", exact=True).is_disabled()
    screenshot(page, "register-wrong-code-wait")
    assert axe_serious_violations(page) == []
    # Going back keeps what was typed in step 1.
    page.get_by_role("link", name="基本情報の入力に戻る").click()
    assert page.get_by_label("ニックネーム").input_value() == "さくら"
    assert not Profile.objects.filter(user=user).exists()
