"""Every resident flow completes with JavaScript turned off; with it, the countdowns run.

Without JavaScript: sign-in, registration with and without the e-mail step, each edit
(nickname, phone, e-mail), smart home (add a remote, a PIN; delete them), deletion and the
help page's feedback. With JavaScript: the 5-minute validity and the 30-second wait count
down, and the send button stays disabled until the wait is over (Playwright's clock, no sleep).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Profile, User
from myspacecore.help.models import HelpFeedback
from smarthome.models import PinCode, RemoteControlSetting
from tests.accounts.profile_helpers import attributes_seed, code_in, last_sms_code
from tests.browser.conftest import browser_page
from tests.browser.resident_pages import client_for, use_session
from tests.factories import ProfileFactory, ResidentFactory, attribute
from tests.smarthome.factories import SmartLockFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def nojs(browser, live_server):
    attributes_seed()
    with browser_page(browser, live_server, javascript=False) as page:
        yield page


def signed_in_as(page, live_server, user) -> None:
    use_session(page, live_server, client_for("ja", user))


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state("load")


def message(page) -> str:
    return page.locator(".messages").inner_text()


def test_sign_in_without_javascript(nojs, screenshot):
    nojs.goto("/signin/")
    nojs.get_by_label("携帯電話番号").fill("090-1234-9999")
    click(nojs, "認証コードを送信")
    nojs.get_by_role("heading", name="認証コードの入力").wait_for()
    # The page itself says where the SMS stands (sent at once here: tasks run eagerly).
    assert "090-****-9999 に SMS で6桁の認証コードを送信しました" in nojs.locator("main").inner_text()
    nojs.get_by_label("認証コード（6桁）").fill(last_sms_code("+819012349999"))
    click(nojs, "サインイン")
    # A new account has no profile yet: the wizard is where sign-in ends.
    nojs.get_by_role("heading", name="MySpaceCore の登録").wait_for()
    assert User.objects.filter(phone_number="+819012349999").exists()
    screenshot(nojs, "nojs-signin-done")


def fill_basics(page, nickname: str) -> None:
    page.get_by_label("ニックネーム").fill(nickname)
    page.get_by_label("生年").select_option("1988")
    page.get_by_label("回答しない").check()


def test_registration_with_the_email_step_without_javascript(nojs, live_server):
    user = ResidentFactory(attribute=attribute("owner"))
    signed_in_as(nojs, live_server, user)
    nojs.goto("/mypage/")
    fill_basics(nojs, "たろう")
    click(nojs, "次へ")
    nojs.get_by_label("メールアドレス").fill("taro@example.jp")
    click(nojs, "送信")
    assert "認証コードを送信しました" in message(nojs)
    nojs.get_by_label("認証コード").fill(code_in(mail.outbox[-1].body))
    click(nojs, "認証する")
    assert "メールアドレスを認証しました" in message(nojs)
    click(nojs, "設定完了")
    nojs.get_by_role("link", name="利用開始").click()
    nojs.get_by_role("heading", name="マイページ").wait_for()
    assert Profile.objects.get(user=user).email == "taro@example.jp"


def test_registration_without_the_email_step_without_javascript(nojs, live_server):
    user = ResidentFactory(attribute=attribute("managed"))
    signed_in_as(nojs, live_server, user)
    nojs.goto("/mypage/myspacecore/register/")
    click(nojs, "次へ")
    # A failed submit keeps the page usable without script: the summary lists what to fix.
    assert nojs.locator("[data-error-summary]").is_visible()
    fill_basics(nojs, "はなこ")
    click(nojs, "次へ")
    nojs.get_by_role("heading", name="設定内容の確認").wait_for()
    click(nojs, "設定完了")
    assert "登録が完了しました" in nojs.content()
    assert Profile.objects.get(user=user).email is None


def test_each_edit_without_javascript(nojs, live_server):
    user = ProfileFactory(user=ResidentFactory(attribute=attribute("owner")), email=None).user
    signed_in_as(nojs, live_server, user)

    nojs.goto("/mypage/myspacecore/")
    nojs.get_by_label("ニックネーム").fill("じろう")
    click(nojs, "設定情報変更")
    assert "ニックネームを変更しました" in message(nojs)

    nojs.locator("#phone-item").get_by_role("link", name="変更する").click()
    nojs.get_by_label("新しい電話番号").fill("080-7777-0001")
    click(nojs, "送信する")
    assert "認証コードを送信しました" in message(nojs)
    nojs.get_by_label("認証コード").fill(last_sms_code("+818077770001"))
    click(nojs, "認証する")
    assert "電話番号を変更しました" in message(nojs)

    nojs.locator("#email-item").get_by_role("link", name="設定する").click()
    nojs.get_by_label("メールアドレス").fill("jiro@example.jp")
    click(nojs, "送信する")
    nojs.get_by_label("認証コード").fill(code_in(mail.outbox[-1].body))
    click(nojs, "認証する")
    assert "メールアドレス" in message(nojs)

    user.refresh_from_db()
    assert (user.profile.nickname, user.profile.email, user.phone_number.as_e164) == (
        "じろう",
        "jiro@example.jp",
        "+818077770001",
    )


def test_smart_home_add_and_delete_without_javascript(nojs, live_server):
    user = ProfileFactory().user
    lock = SmartLockFactory(owner_user=user, name="玄関")
    signed_in_as(nojs, live_server, user)
    nojs.goto(f"/mypage/smarthome/devices/{lock.pk}/")
    nojs.get_by_role("link", name="リモコン情報を追加").click()
    nojs.get_by_label("名前").fill("寝室のエアコン")
    nojs.get_by_label("家電の種類").select_option(label="エアコン")
    click(nojs, "設定する")
    assert "リモコン情報を追加しました" in message(nojs)

    nojs.get_by_role("link", name="暗証番号を追加").click()
    nojs.get_by_label("名前").fill("家族用")
    nojs.get_by_label("暗証番号").fill("592730")
    click(nojs, "設定する")
    assert "暗証番号を追加しました" in message(nojs)
    assert RemoteControlSetting.objects.filter(device=lock).count() == PinCode.objects.filter(device=lock).count() == 1

    nojs.get_by_role("link", name=re.compile("削除.*家族用")).click()
    click(nojs, "削除")
    assert "削除します" in message(nojs)  # being removed until the lock confirms (at once here)
    nojs.get_by_role("link", name=re.compile("削除.*寝室のエアコン")).click()
    click(nojs, "削除")
    assert not RemoteControlSetting.all_objects.filter(device=lock).exists()
    assert not PinCode.all_objects.filter(device=lock).exists()


def test_deletion_without_javascript(nojs, live_server):
    user = ProfileFactory().user
    signed_in_as(nojs, live_server, user)
    nojs.goto("/mypage/myspacecore/deletion/")
    nojs.get_by_label("同意します").check()
    click(nojs, "設定情報の削除")
    click(nojs, "削除")
    nojs.get_by_role("heading", name="ユーザー情報の削除が完了しました。").wait_for()
    nojs.get_by_role("link", name="OK").click()
    nojs.get_by_role("heading", name="電話番号でサインイン").wait_for()
    assert not User.objects.filter(pk=user.pk).exists()


def test_help_search_and_feedback_without_javascript(nojs):
    nojs.goto("/help/")
    nojs.get_by_label("ヘルプを検索").fill("迷惑メール")
    click(nojs, "検索")
    nojs.get_by_role("link", name=re.compile("認証コードが届かない")).first.click()
    nojs.get_by_label("コメント（任意）").fill("よくわかりました")
    click(nojs, "はい")
    assert "ご評価ありがとうございました" in message(nojs)
    assert HelpFeedback.objects.get().comment == "よくわかりました"


# With JavaScript: the countdowns (Playwright's clock stands in for waiting).


def test_wait_countdown_keeps_the_send_button_disabled_until_the_wait_is_over(page, live_server):
    attributes_seed()
    user = ResidentFactory(attribute=attribute("owner"))
    client = client_for("ja", user)
    client.post("/mypage/myspacecore/register/", {"nickname": "ゆき", "birth_year": "1990", "gender": "other"})
    client.post("/mypage/myspacecore/register/email/", {"email": "yuki@example.jp"})
    code = code_in(mail.outbox[-1].body)
    client.post("/mypage/myspacecore/register/code/", {"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    use_session(page, live_server, client)
    page.clock.install()
    page.goto("/mypage/myspacecore/register/email/")
    send = page.locator("#send-button")
    countdown = page.locator("[data-countdown]")
    assert send.is_disabled()
    assert re.fullmatch(r"0:(2\d|30)", countdown.inner_text())
    page.clock.run_for(10_000)
    assert re.fullmatch(r"0:(1\d|20)", countdown.inner_text())
    assert send.is_disabled()
    page.clock.run_for(25_000)
    # At zero the sentence says what the resident may do now, not "0:00" (issue 16.7).
    assert page.get_by_text("認証コードを再送信できます。").is_visible()
    assert countdown.count() == 0
    assert send.is_enabled()


def test_validity_countdown_shows_the_minutes_left(page, live_server):
    attributes_seed()
    user = ResidentFactory(attribute=attribute("owner"))
    client = client_for("ja", user)
    client.post("/mypage/myspacecore/register/", {"nickname": "ゆき", "birth_year": "1990", "gender": "other"})
    client.post("/mypage/myspacecore/register/email/", {"email": "yuki@example.jp"})
    use_session(page, live_server, client)
    page.clock.install()
    page.goto("/mypage/myspacecore/register/code/")
    countdown = page.locator("[data-countdown]")
    assert re.fullmatch(r"[45]:\d\d", countdown.inner_text())
    page.clock.run_for(120_000)
    assert re.fullmatch(r"[23]:\d\d", countdown.inner_text())
    page.clock.run_for(300_000)
    # At zero: what to do now, not "0:00" (issue 16.7).
    assert page.get_by_text(
        "この認証コードは有効期限が切れています。メールアドレスの入力からやり直してください。"
    ).first.is_visible()
    assert countdown.count() == 0
