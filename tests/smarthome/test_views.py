"""My page > Smart home: pages, ownership (IDOR), messages, PIN secrecy and query counts."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from smarthome.crypto import pin_decrypt
from smarthome.models import PinCode, RemoteControlSetting
from tests.factories import LeaseFactory
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def remote_data(**overrides) -> dict:
    return {
        "name": "寝室のエアコン",
        "appliance_type": "air_conditioner",
        "maker": "ダイキン",
        "signal_data": "",
    } | overrides


def pin_data(**overrides) -> dict:
    return {"label": "家族用", "pin": "4829", "valid_from": "", "valid_until": ""} | overrides


# Pages of one's own devices
# ------------------------------------------------------------------------------


def test_list_shows_own_devices_and_the_current_unit_devices_only(resident_client, resident, other_resident):
    own = DeviceFactory(owner_user=resident, name="私のハブ")
    unit_lock = UnitSmartLockFactory(name="住戸のロック")
    LeaseFactory(unit=unit_lock.unit, resident=resident)
    DeviceFactory(owner_user=other_resident, name="他人のハブ")
    past_unit_hub = UnitDeviceFactory(name="前の住戸のハブ")
    LeaseFactory(
        unit=past_unit_hub.unit,
        resident=resident,
        start_date=timezone.localdate() - datetime.timedelta(days=400),
        end_date=timezone.localdate() - datetime.timedelta(days=1),
    )

    response = resident_client.get(reverse("smarthome:device_list"))
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert own.name in content and unit_lock.name in content
    assert "他人のハブ" not in content and "前の住戸のハブ" not in content


def test_list_without_devices_says_so(resident_client):
    response = resident_client.get(reverse("smarthome:device_list"))
    assert "ご利用いただけるデバイスはまだありません。" in response.content.decode()


def test_pages_need_sign_in(client):
    device = DeviceFactory()
    for url in (reverse("smarthome:device_list"), reverse("smarthome:device_detail", args=[device.pk])):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert "/mypage/smarthome/" not in response["Location"].split("?")[0]


def test_detail_lists_remotes_and_pin_labels_but_never_a_pin(resident_client, resident):
    lock = SmartLockFactory(owner_user=resident)
    RemoteControlSettingFactory(device=lock, name="玄関の照明")
    pin_code = PinCodeFactory(device=lock, label="清掃スタッフ用", pin="7051263")

    response = resident_client.get(reverse("smarthome:device_detail", args=[lock.pk]))
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "玄関の照明" in content and "清掃スタッフ用" in content and "••••" in content
    assert pin_decrypt(pin_code.pin_encrypted) == "7051263"
    assert "7051263" not in content


def test_add_remote_setting(resident_client, resident):
    hub = DeviceFactory(owner_user=resident)
    url = reverse("smarthome:remote_setting_create", args=[hub.pk])
    assert resident_client.get(url).status_code == HTTPStatus.OK

    response = resident_client.post(url, remote_data())
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("smarthome:device_detail", args=[hub.pk])
    assert RemoteControlSetting.objects.get(device=hub).name == "寝室のエアコン"
    assert messages_of(response) == ["リモコン情報を追加しました。"]


def test_add_remote_setting_with_blank_name_keeps_what_was_typed(resident_client, resident):
    hub = DeviceFactory(owner_user=resident)
    response = resident_client.post(
        reverse("smarthome:remote_setting_create", args=[hub.pk]), remote_data(name=" ", maker="シャープ")
    )
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert 'id="id_name_errors"' in content
    assert 'value="シャープ"' in content
    assert not RemoteControlSetting.objects.exists()


def test_edit_remote_setting(resident_client, resident):
    remote = RemoteControlSettingFactory(device=DeviceFactory(owner_user=resident))
    url = reverse("smarthome:remote_setting_update", args=[remote.pk])
    assert remote.name in resident_client.get(url).content.decode()

    response = resident_client.post(url, remote_data(name="子ども部屋のテレビ", appliance_type="tv"))
    assert response.status_code == HTTPStatus.FOUND
    remote.refresh_from_db()
    assert (remote.name, remote.appliance_type) == ("子ども部屋のテレビ", "tv")
    assert messages_of(response) == ["リモコン情報を変更しました。"]


def test_delete_remote_setting_asks_then_deletes_on_post(resident_client, resident):
    remote = RemoteControlSettingFactory(device=DeviceFactory(owner_user=resident))
    url = reverse("smarthome:remote_setting_delete", args=[remote.pk])
    assert resident_client.get(url).status_code == HTTPStatus.OK
    assert RemoteControlSetting.objects.filter(pk=remote.pk).exists()

    response = resident_client.post(url)
    assert response.status_code == HTTPStatus.FOUND
    assert not RemoteControlSetting.objects.filter(pk=remote.pk).exists()
    assert messages_of(response) == [
        f"リモコン情報「{remote.name}」を削除します。デバイスから削除されるまで「削除中」と表示されます。"
    ]


def test_pin_form_asks_for_digits_without_autocomplete(resident_client, resident):
    lock = SmartLockFactory(owner_user=resident)
    content = resident_client.get(reverse("smarthome:pin_code_create", args=[lock.pk])).content.decode()
    assert 'inputmode="numeric"' in content and 'autocomplete="off"' in content
    assert content.count('type="datetime-local"') == 2


def test_add_pin_with_full_width_digits_and_a_window(resident_client, resident):
    lock = SmartLockFactory(owner_user=resident)
    start = timezone.localtime() + datetime.timedelta(days=1)
    response = resident_client.post(
        reverse("smarthome:pin_code_create", args=[lock.pk]),
        pin_data(
            label="清掃スタッフ用",
            pin="５９３０１７",
            valid_from=start.strftime("%Y-%m-%dT%H:%M"),
            valid_until=(start + datetime.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert response.status_code == HTTPStatus.FOUND
    pin_code = PinCode.objects.get(device=lock)
    assert pin_decrypt(pin_code.pin_encrypted) == "593017"
    assert pin_code.valid_until - pin_code.valid_from == datetime.timedelta(hours=8)
    assert messages_of(response) == ["暗証番号を追加しました。ロックに反映されると「反映済み」と表示されます。"]
    follow = resident_client.get(response["Location"])
    assert "593017" not in follow.content.decode()


@pytest.mark.parametrize("pin", ["1234", "9876", "0000", "123", "12345678901", "48a9"])
def test_bad_pin_is_shown_next_to_the_field_and_nothing_is_saved(resident_client, resident, pin):
    lock = SmartLockFactory(owner_user=resident)
    response = resident_client.post(
        reverse("smarthome:pin_code_create", args=[lock.pk]), pin_data(label="来客用", pin=pin)
    )
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert 'id="id_pin_errors"' in content
    assert 'value="来客用"' in content
    assert not PinCode.objects.exists()


def test_duplicate_pin_and_window_order_are_reported_on_their_fields(resident_client, resident):
    lock = SmartLockFactory(owner_user=resident)
    url = reverse("smarthome:pin_code_create", args=[lock.pk])
    resident_client.post(url, pin_data())
    response = resident_client.post(url, pin_data(label="来客用"))
    assert "このスマートロックですでに使われています" in response.content.decode()

    start = timezone.localtime() + datetime.timedelta(days=1)
    response = resident_client.post(
        url,
        pin_data(
            pin="5930",
            valid_from=start.strftime("%Y-%m-%dT%H:%M"),
            valid_until=(start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert 'id="id_valid_until_errors"' in response.content.decode()
    assert PinCode.objects.count() == 1


def test_21st_pin_is_refused_with_a_message(resident_client, resident):
    lock = SmartLockFactory(owner_user=resident)
    PinCodeFactory.create_batch(20, device=lock)
    response = resident_client.post(reverse("smarthome:pin_code_create", args=[lock.pk]), pin_data())
    assert response.status_code == HTTPStatus.OK
    assert "20件まで" in response.content.decode()
    assert PinCode.objects.filter(device=lock).count() == 20


def test_pin_page_of_a_hub_is_not_found(resident_client, resident):
    hub = DeviceFactory(owner_user=resident)
    assert resident_client.get(reverse("smarthome:pin_code_create", args=[hub.pk])).status_code == HTTPStatus.NOT_FOUND


def test_delete_pin_asks_then_deletes_on_post(resident_client, resident):
    pin_code = PinCodeFactory(device=SmartLockFactory(owner_user=resident))
    url = reverse("smarthome:pin_code_delete", args=[pin_code.pk])
    assert resident_client.get(url).status_code == HTTPStatus.OK
    assert PinCode.objects.filter(pk=pin_code.pk).exists()

    response = resident_client.post(url)
    assert response.status_code == HTTPStatus.FOUND
    assert not PinCode.objects.exists()
    assert messages_of(response) == [
        f"暗証番号「{pin_code.label}」を削除します。ロックから削除されるまで「削除中」と表示されます。"
    ]


def test_resident_of_the_unit_edits_the_unit_devices(resident_client, resident):
    unit_lock = UnitSmartLockFactory()
    LeaseFactory(unit=unit_lock.unit, resident=resident)
    response = resident_client.post(reverse("smarthome:pin_code_create", args=[unit_lock.pk]), pin_data())
    assert response.status_code == HTTPStatus.FOUND
    assert PinCode.objects.filter(device=unit_lock).count() == 1


# Ownership: another account's ids answer 404 and change nothing
# ------------------------------------------------------------------------------


@pytest.fixture
def foreign(other_resident):
    """Another account's hub, lock, remote and PIN, and a unit lock of that account's lease."""
    hub = DeviceFactory(owner_user=other_resident)
    lock = SmartLockFactory(owner_user=other_resident)
    unit_lock = UnitSmartLockFactory()
    LeaseFactory(unit=unit_lock.unit, resident=other_resident)
    return {
        "hub": hub,
        "lock": lock,
        "unit_lock": unit_lock,
        "remote": RemoteControlSettingFactory(device=hub),
        "pin": PinCodeFactory(device=lock),
        "unit_pin": PinCodeFactory(device=unit_lock),
    }


def snapshot() -> list:
    return [
        sorted(RemoteControlSetting.objects.values_list("pk", "name", "appliance_type", "maker", "signal_data")),
        sorted(PinCode.objects.values_list("pk", "label", "pin_encrypted", "valid_from", "valid_until")),
    ]


FOREIGN_URLS = [
    ("smarthome:device_detail", "hub", None),
    ("smarthome:device_detail", "unit_lock", None),
    ("smarthome:remote_setting_create", "hub", remote_data()),
    ("smarthome:remote_setting_create", "unit_lock", remote_data()),
    ("smarthome:remote_setting_update", "remote", remote_data(name="乗っ取り")),
    ("smarthome:remote_setting_delete", "remote", {}),
    ("smarthome:pin_code_create", "lock", pin_data()),
    ("smarthome:pin_code_create", "unit_lock", pin_data()),
    ("smarthome:pin_code_delete", "pin", {}),
    ("smarthome:pin_code_delete", "unit_pin", {}),
]


@pytest.mark.parametrize(("url_name", "target", "post_data"), FOREIGN_URLS)
def test_another_accounts_ids_answer_404_and_change_nothing(resident_client, foreign, url_name, target, post_data):
    url = reverse(url_name, args=[foreign[target].pk])
    before = snapshot()
    assert resident_client.get(url).status_code == HTTPStatus.NOT_FOUND
    if post_data is not None:
        assert resident_client.post(url, post_data).status_code == HTTPStatus.NOT_FOUND
    assert snapshot() == before


@pytest.mark.parametrize(
    "url_name",
    [
        "smarthome:device_detail",
        "smarthome:remote_setting_create",
        "smarthome:remote_setting_update",
        "smarthome:remote_setting_delete",
        "smarthome:pin_code_create",
        "smarthome:pin_code_delete",
    ],
)
def test_unknown_ids_answer_404(resident_client, url_name):
    assert resident_client.get(reverse(url_name, args=[999_999])).status_code == HTTPStatus.NOT_FOUND


def test_foreign_devices_are_not_listed(resident_client, foreign):
    content = resident_client.get(reverse("smarthome:device_list")).content.decode()
    assert all(foreign[key].name not in content for key in ("hub", "lock", "unit_lock"))


# Query counts
# ------------------------------------------------------------------------------


def test_detail_page_queries_do_not_grow_with_remotes_and_pins(
    resident_client, resident, django_assert_max_num_queries
):
    lock = SmartLockFactory(owner_user=resident)
    RemoteControlSettingFactory.create_batch(10, device=lock)
    PinCodeFactory.create_batch(10, device=lock)
    url = reverse("smarthome:device_detail", args=[lock.pk])
    # Session, user, profile (middleware); the device, its remotes, its PINs.
    with django_assert_max_num_queries(6):
        response = resident_client.get(url)
    assert response.content.decode().count("••••") == 10


def test_list_page_queries_do_not_grow_with_devices(resident_client, resident, django_assert_max_num_queries):
    for _ in range(5):
        lock = SmartLockFactory(owner_user=resident)
        RemoteControlSettingFactory.create_batch(10, device=lock)
        PinCodeFactory.create_batch(10, device=lock)
    for _ in range(5):
        unit_hub = UnitDeviceFactory()
        LeaseFactory(unit=unit_hub.unit, resident=resident)
    # Session, user, profile (middleware); the devices with their counts.
    with django_assert_max_num_queries(4):
        response = resident_client.get(reverse("smarthome:device_list"))
    assert response.status_code == HTTPStatus.OK
    assert response.content.decode().count("リモコン 10件") == 5
