"""The resident pages tell where each setting stands on its device, and a PIN's label and window
can be edited (issue 16 point 5)."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from smarthome import services
from smarthome.models import Device, PinCode, SyncState
from smarthome.sync import protocol
from smarthome.sync.services import report_record
from tests.factories import StaffFactory
from tests.smarthome.factories import PinCodeFactory, SmartLockFactory
from tests.smarthome.sync_helpers import report_of, set_items

pytestmark = pytest.mark.django_db


def detail(client, device) -> str:
    response = client.get(reverse("smarthome:device_detail", args=[device.pk]))
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def pin_item(content: str, label: str) -> str:
    """The <li> of one PIN on the device page."""
    start = content.index(f"<strong>{label}</strong>")
    return content[start : content.index("</li>", start)]


def test_a_new_pin_is_sent_then_on_the_lock_and_only_then_valid(
    resident_client, resident, django_capture_on_commit_callbacks
):
    lock = SmartLockFactory(owner_user=resident)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resident_client.post(reverse("smarthome:pin_code_create", args=[lock.pk]), {"label": "家族", "pin": "482915"})
    item = pin_item(detail(resident_client, lock), "家族")
    assert "ロックに反映中…" in item and "有効" not in item

    for callback in callbacks:  # the publish; the simulated lock answers at once in the tests
        callback()
    item = pin_item(detail(resident_client, lock), "家族")
    assert "反映済み" in item and "有効" in item


def test_a_deleted_pin_is_shown_being_removed_without_buttons_until_the_lock_confirms(
    resident_client, resident, django_capture_on_commit_callbacks
):
    lock = SmartLockFactory(owner_user=resident)
    pin = PinCodeFactory(device=lock, label="ゲスト", sync_state=SyncState.SET)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resident_client.post(reverse("smarthome:pin_code_delete", args=[pin.pk]))
    item = pin_item(detail(resident_client, lock), "ゲスト")
    assert "削除中…" in item and "ロックから削除されるまでお待ちください。" in item
    assert "pins/" not in item, "no edit or delete button for a PIN being removed"
    assert resident_client.get(reverse("smarthome:pin_code_delete", args=[pin.pk])).status_code == HTTPStatus.NOT_FOUND

    for callback in callbacks:
        callback()
    assert "ゲスト" not in detail(resident_client, lock)
    assert not PinCode.all_objects.filter(pk=pin.pk).exists()


def test_a_full_lock_and_an_offline_hub_say_why(resident_client, resident, memory_transport):
    lock = SmartLockFactory(owner_user=resident)
    full = services.pin_code_create(device=lock, label="来客用", pin="482915")
    waiting = services.pin_code_create(device=lock, label="家族", pin="730591")
    lock_full = protocol.ReportedItem(ref=f"p{full.pk}", status="failed", reason="lock_full")
    entry_failed = report_of(
        lock.channel_id, protocol.ReportedDevice(device=lock.channel_id, version=1, pins=(lock_full,))
    )
    report_record(channel_id=lock.channel_id, report=entry_failed)
    seen = timezone.make_aware(datetime.datetime(2026, 12, 1, 9, 30))
    Device.objects.filter(pk=lock.pk).update(sync_failure=Device.SyncFailure.OFFLINE, sync_failure_since=seen)

    content = detail(resident_client, lock)
    assert "反映できませんでした" in pin_item(content, "来客用")
    assert "ロックの登録枠がいっぱいです" in pin_item(content, "来客用")
    offline = pin_item(content, "家族")
    assert "反映できませんでした" in offline, offline
    assert "ハブが2026/12/01 9:30からオフラインです。オンラインに戻ると反映されます。" in offline
    assert waiting.sync_state == SyncState.SETTING


def test_the_device_list_counts_no_setting_being_removed_and_says_when_one_is_on_its_way(
    resident_client, resident, memory_transport
):
    lock = SmartLockFactory(owner_user=resident)
    gone = services.pin_code_create(device=lock, label="ゲスト", pin="482915")
    services.pin_code_delete(pin_code=gone)
    content = resident_client.get(reverse("smarthome:device_list")).content.decode()
    assert "暗証番号 0件" in content and "反映中の設定があります" in content

    report_record(
        channel_id=lock.channel_id,
        report=report_of(lock.channel_id, *[_entry(lock, version=2)]),
    )
    assert "反映中の設定があります" not in resident_client.get(reverse("smarthome:device_list")).content.decode()


def _entry(device, *, version, refs=()):
    return protocol.ReportedDevice(device=device.channel_id, version=version, pins=set_items(*refs))


# PIN edit
# ------------------------------------------------------------------------------


def window(start: datetime.datetime, hours: int) -> dict:
    return {
        "valid_from": start.strftime("%Y-%m-%dT%H:%M"),
        "valid_until": (start + datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
    }


def test_editing_the_label_only_keeps_the_pin_on_the_lock(resident_client, resident, memory_transport):
    lock = SmartLockFactory(owner_user=resident)
    pin = services.pin_code_create(device=lock, label="家族", pin="482915")
    on_lock = report_of(lock.channel_id, _entry(lock, version=1, refs=[f"p{pin.pk}"]))
    report_record(channel_id=lock.channel_id, report=on_lock)

    response = resident_client.post(reverse("smarthome:pin_code_update", args=[pin.pk]), {"label": "家族（父）"})

    assert response.status_code == HTTPStatus.FOUND
    pin.refresh_from_db()
    lock.refresh_from_db()
    assert (pin.label, pin.sync_state, lock.desired_version) == ("家族（父）", SyncState.SET, 1)


@time_machine.travel(datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC), tick=False)
def test_editing_the_window_bumps_the_version_and_the_pin_is_sent_again(resident_client, resident, memory_transport):
    lock = SmartLockFactory(owner_user=resident)
    pin = services.pin_code_create(device=lock, label="清掃", pin="482915")
    on_lock = report_of(lock.channel_id, _entry(lock, version=1, refs=[f"p{pin.pk}"]))
    report_record(channel_id=lock.channel_id, report=on_lock)
    start = timezone.localtime() + datetime.timedelta(days=1)

    response = resident_client.post(
        reverse("smarthome:pin_code_update", args=[pin.pk]), {"label": "清掃", **window(start, 8)}
    )

    assert response.status_code == HTTPStatus.FOUND
    pin.refresh_from_db()
    lock.refresh_from_db()
    assert pin.valid_until - pin.valid_from == datetime.timedelta(hours=8)
    assert (pin.sync_state, pin.changed_version, lock.desired_version) == (SyncState.SETTING, 2, 2)
    assert "ロックに反映中…" in pin_item(detail(resident_client, lock), "清掃")


def test_a_bad_window_is_shown_on_its_field_and_keeps_what_was_typed(resident_client, resident):
    pin = PinCodeFactory(device=SmartLockFactory(owner_user=resident), label="清掃")
    start = timezone.localtime() + datetime.timedelta(days=1)
    data = {"label": "清掃（平日）", **window(start, -2)}

    response = resident_client.post(reverse("smarthome:pin_code_update", args=[pin.pk]), data)

    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert 'id="id_valid_until_errors"' in content and 'value="清掃（平日）"' in content
    pin.refresh_from_db()
    assert (pin.label, pin.valid_until) == ("清掃", None)


def test_a_window_that_ends_in_the_past_or_overlaps_the_same_pin_is_refused(memory_transport):
    lock = SmartLockFactory()
    start = timezone.now() + datetime.timedelta(days=1)
    first = services.pin_code_create(
        device=lock, label="午前", pin="482915", valid_from=start, valid_until=start + datetime.timedelta(hours=4)
    )
    second = services.pin_code_create(
        device=lock,
        label="午後",
        pin="482915",
        valid_from=start + datetime.timedelta(hours=5),
        valid_until=start + datetime.timedelta(hours=9),
    )
    with pytest.raises(services.ValidationError) as overlap:
        services.pin_code_update(
            pin_code=second,
            label="午後",
            valid_from=start + datetime.timedelta(hours=3),
            valid_until=second.valid_until,
        )
    with pytest.raises(services.ValidationError) as past:
        services.pin_code_update(
            pin_code=first, label="午前", valid_from=None, valid_until=timezone.now() - datetime.timedelta(minutes=1)
        )
    assert "valid_until" in overlap.value.message_dict and "valid_until" in past.value.message_dict
    lock.refresh_from_db()
    assert lock.desired_version == 2, "a refused edit changes nothing"


def test_another_residents_pin_and_the_page_for_staff_are_refused(client, resident_client, other_resident):
    theirs = PinCodeFactory(device=SmartLockFactory(owner_user=other_resident))
    url = reverse("smarthome:pin_code_update", args=[theirs.pk])
    assert resident_client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert resident_client.post(url, {"label": "乗っ取り"}).status_code == HTTPStatus.NOT_FOUND
    client.force_login(StaffFactory(is_superuser=True))
    assert client.post(url, {"label": "乗っ取り"}).status_code == HTTPStatus.FORBIDDEN
    theirs.refresh_from_db()
    assert theirs.label != "乗っ取り"


def test_the_edit_page_offers_no_pin_field(resident_client, resident):
    pin = PinCodeFactory(device=SmartLockFactory(owner_user=resident))
    content = resident_client.get(reverse("smarthome:pin_code_update", args=[pin.pk])).content.decode()
    assert 'name="pin"' not in content and 'name="label"' in content and "暗証番号の変更" in content
