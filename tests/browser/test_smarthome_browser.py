"""Smart home in a real phone-sized browser: a resident adds a remote and a PIN to their lock."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from smarthome.crypto import pin_decrypt
from smarthome.models import PinCode, RemoteControlSetting
from tests.factories import ProfileFactory, ResidentFactory
from tests.smarthome.factories import SmartLockFactory

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, live_server, user) -> None:
    """Sign-in is another engineer's flow: borrow a session from Django's test client."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_resident_adds_a_remote_and_a_pin_to_their_lock(page, live_server, screenshot):
    resident = ResidentFactory()
    ProfileFactory(user=resident)
    lock = SmartLockFactory(owner_user=resident, name="玄関のスマートロック")
    sign_in(page, live_server, resident)

    page.goto("/mypage/smarthome/")
    screenshot(page, "smarthome-device-list")
    page.get_by_role("link", name="玄関のスマートロック").click()
    page.get_by_role("heading", level=1, name="玄関のスマートロック").wait_for()

    page.get_by_role("link", name="リモコン情報を追加").click()
    page.get_by_label("名前").fill("リビングのエアコン")
    page.get_by_label("家電の種類").select_option(label="エアコン")
    page.get_by_label("メーカー").fill("ダイキン")
    screenshot(page, "smarthome-remote-form")
    page.get_by_role("button", name="設定する").click()
    page.get_by_text("リモコン情報を追加しました。").wait_for()
    assert RemoteControlSetting.objects.get(device=lock).name == "リビングのエアコン"

    page.get_by_role("link", name="暗証番号を追加").click()
    pin_input = page.get_by_label("暗証番号")
    assert pin_input.get_attribute("inputmode") == "numeric"
    assert pin_input.get_attribute("autocomplete") == "off"
    page.get_by_label("名前").fill("清掃スタッフ用")
    pin_input.fill("1234")
    page.get_by_role("button", name="設定する").click()
    page.locator("#id_pin_errors").wait_for()
    assert page.get_by_label("名前").input_value() == "清掃スタッフ用"
    screenshot(page, "smarthome-pin-form-trivial-refused")

    start = timezone.localtime() + datetime.timedelta(days=1)
    page.get_by_label("暗証番号").fill("５９３０ ２７")
    page.get_by_label("有効開始日時").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("有効終了日時").fill((start + datetime.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="設定する").click()
    page.get_by_text("暗証番号を追加しました。").wait_for()
    screenshot(page, "smarthome-device-detail")

    content = page.content()
    assert "清掃スタッフ用" in content and "••••" in content and "593027" not in content
    pin_code = PinCode.objects.get(device=lock)
    assert pin_decrypt(pin_code.pin_encrypted) == "593027"
    assert pin_code.valid_until - pin_code.valid_from == datetime.timedelta(hours=8)
