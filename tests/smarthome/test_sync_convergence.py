"""Deletion and move-out finish on the device; an offline hub converges when it returns; the
publish task, the lag sweep and the unconfirmed-device flag."""

from __future__ import annotations

import datetime
import logging

import pytest
import time_machine
from django.utils import timezone

from accounts.services.deletion import account_delete
from smarthome import services
from smarthome.models import Device, DeviceSettingsReset, PinCode, RemoteControlSetting, SettingsPurgeRequest, SyncState
from smarthome.sync import protocol
from smarthome.sync.selectors import units_reset_pending
from smarthome.sync.services import desired_lagging_republish, desired_resend, devices_unconfirmed_flag
from smarthome.tasks import PUBLISH_RETRY, device_desired_publish
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, UnitFactory, attribute
from tests.smarthome.factories import (
    DeviceFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)
from tests.smarthome.sync_helpers import hub_answers_last, hub_answers_now

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def unit_with_hub_and_lock():
    unit = UnitFactory()
    hub = UnitDeviceFactory(unit=unit)
    lock = UnitSmartLockFactory(unit=unit, hub=hub)
    return unit, hub, lock


def on_device(lock) -> list[tuple[str, str]]:
    return list(PinCode.all_objects.filter(device=lock).order_by("pk").values_list("label", "sync_state"))


def test_move_out_is_pending_on_the_device_until_every_device_confirms(memory_transport):
    unit, hub, lock = unit_with_hub_and_lock()
    RemoteControlSettingFactory(device=hub)
    services.pin_code_create(device=lock, label="家族", pin="482915")
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=3), tick=False):
        result = services.unit_settings_reset(unit=unit)

    assert (result.remote_settings, result.pin_codes) == (1, 1)
    [pending] = units_reset_pending()
    assert (pending, pending.devices_pending) == (unit, 2)
    assert timezone.now() - pending.reset_requested_at >= datetime.timedelta(hours=3)
    assert on_device(lock) == [("家族", SyncState.REMOVING)]

    hub_answers_now(hub.channel_id)

    assert not units_reset_pending().exists()
    assert not PinCode.all_objects.filter(device=lock).exists()
    assert not RemoteControlSetting.all_objects.filter(device=hub).exists()
    assert DeviceSettingsReset.objects.filter(confirmed_at__isnull=False).count() == 2


def test_only_units_with_a_reset_still_open_are_pending_counting_only_their_waiting_devices(memory_transport):
    unit, _hub, _lock = unit_with_hub_and_lock()
    unit_with_hub_and_lock()  # devices, never reset: nothing pending there
    half_confirmed, hub_done, _lock_waiting = unit_with_hub_and_lock()
    services.unit_settings_reset(unit=unit)
    services.unit_settings_reset(unit=half_confirmed)
    DeviceSettingsReset.objects.filter(device=hub_done).update(confirmed_at=timezone.now())

    pending = {row: row.devices_pending for row in units_reset_pending()}

    assert pending == {unit: 2, half_confirmed: 1}


def test_a_purge_request_is_done_only_when_the_devices_of_its_units_confirm(memory_transport):
    today = timezone.localdate()
    user = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=user)
    unit, hub, lock = unit_with_hub_and_lock()
    services.pin_code_create(device=lock, label="家族", pin="482915")
    LeaseFactory(unit=unit, resident=user, start_date=today - 400 * DAY, end_date=today - 5 * DAY)
    purge_request = account_delete(user=user).erased["smart_home"]

    processed = services.settings_purge_request_process(purge_request_id=purge_request.pk)
    assert processed.state == SettingsPurgeRequest.State.AWAITING_DEVICES
    assert services.settings_purge_requests_process().processed == 0, "the sweep leaves a waiting request alone"

    hub_answers_now(hub.channel_id)

    purge_request.refresh_from_db()
    assert purge_request.state == SettingsPurgeRequest.State.DONE and purge_request.finished_at is not None
    assert purge_request.pin_codes_purged == 1
    assert not PinCode.all_objects.exists()


def test_an_offline_hub_converges_after_changes_a_deletion_a_move_out_and_a_new_tenants_pins(
    memory_transport, django_capture_on_commit_callbacks, settings
):
    settings.SMARTHOME_DEVICE_SIMULATED_LOCK_SLOTS = 3
    unit, hub, lock = unit_with_hub_and_lock()
    with django_capture_on_commit_callbacks(execute=True):
        kept = services.pin_code_create(device=lock, label="家族", pin="482915")
    hub_answers_last(hub.channel_id)  # online: 家族 is on the lock
    assert on_device(lock) == [("家族", SyncState.SET)]

    memory_transport.state["unavailable"] = True  # the broker and the hub are gone
    with django_capture_on_commit_callbacks(execute=True):
        guest = services.pin_code_create(device=lock, label="ゲスト", pin="730591")
        services.pin_code_create(device=lock, label="清掃", pin="593017")
        services.pin_code_delete(pin_code=guest)
        services.remote_setting_create(device=hub, name="エアコン", appliance_type="air_conditioner")
        services.unit_settings_reset(unit=unit)  # the tenant moves out
        services.pin_code_create(device=lock, label="新しい入居者", pin="804127")
    lock.refresh_from_db()
    assert lock.sync_failure == Device.SyncFailure.OFFLINE, "the publish gave up: the hub shows offline"
    assert kept.pk in PinCode.all_objects.filter(sync_state=SyncState.REMOVING).values_list("pk", flat=True)

    memory_transport.state["unavailable"] = False  # the hub returns and asks for its state
    with django_capture_on_commit_callbacks(execute=True):
        desired_resend(channel_id=hub.channel_id)
    hub_answers_last(hub.channel_id)

    assert on_device(lock) == [("新しい入居者", SyncState.SET)]
    assert not RemoteControlSetting.all_objects.exists()
    lock.refresh_from_db()
    assert (lock.reported_version, lock.sync_failure, lock.pending_since) == (lock.desired_version, "", None)
    assert not units_reset_pending().exists()


def test_the_publish_task_retries_a_down_transport_with_a_bound_then_marks_the_hub_offline(
    memory_transport, monkeypatch
):
    _unit, hub, lock = unit_with_hub_and_lock()
    memory_transport.state["unavailable"] = True
    countdowns = []
    real_retry = device_desired_publish.retry

    def counting_retry(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return real_retry(*args, **kwargs)

    monkeypatch.setattr(device_desired_publish, "retry", counting_retry)
    assert device_desired_publish.apply(args=(hub.channel_id,)).get() == "offline"
    assert len(countdowns) == PUBLISH_RETRY.max_retries
    assert max(countdowns) <= PUBLISH_RETRY.backoff_max
    lock.refresh_from_db()
    assert lock.sync_failure == Device.SyncFailure.OFFLINE and lock.sync_failure_since is not None


def test_the_lag_sweep_publishes_again_only_to_channels_that_lag(memory_transport):
    _unit, hub, lock = unit_with_hub_and_lock()
    _other_unit, quiet_hub, _quiet_lock = unit_with_hub_and_lock()
    services.pin_code_create(device=lock, label="家族", pin="482915")
    memory_transport.outbox.clear()

    assert desired_lagging_republish() == 1
    assert [m.channel_id for m in memory_transport.outbox] == [hub.channel_id]
    hub_answers_last(hub.channel_id)
    assert desired_lagging_republish() == 0
    assert quiet_hub.channel_id not in {m.channel_id for m in memory_transport.outbox}


def test_a_device_unconfirmed_past_the_threshold_is_listed_logged_and_shown_offline(memory_transport, settings, caplog):
    settings.SMARTHOME_DEVICE_CONFIRM_WARN_AFTER_SECONDS = 3600
    _unit, _hub, lock = unit_with_hub_and_lock()
    with time_machine.travel(timezone.now() - datetime.timedelta(minutes=30), tick=False):
        services.pin_code_create(device=lock, label="家族", pin="482915")
    assert devices_unconfirmed_flag() == 0

    with (
        time_machine.travel(timezone.now() + datetime.timedelta(hours=1), tick=False),
        caplog.at_level(logging.WARNING, logger="smarthome.sync.services"),
    ):
        assert devices_unconfirmed_flag() == 1
    assert f"device #{lock.pk}" in caplog.text
    lock.refresh_from_db()
    assert lock.sync_failure == Device.SyncFailure.OFFLINE


def test_a_deleted_accounts_own_hub_is_told_to_hold_nothing(memory_transport, django_capture_on_commit_callbacks):
    user = ResidentFactory()
    ProfileFactory(user=user)
    hub = DeviceFactory(owner_user=user)
    lock = SmartLockFactory(owner_user=user, hub=hub)
    services.pin_code_create(device=lock, label="家族", pin="482915")
    memory_transport.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=user)

    assert not Device.objects.filter(pk__in=[hub.pk, lock.pk]).exists()
    [message] = [m for m in memory_transport.outbox if m.channel_id == hub.channel_id]
    desired = protocol.desired_decode(message.payload)
    assert {(d.device, d.version, d.pins, d.remotes) for d in desired.devices} == {
        (hub.channel_id, 1, (), ()),
        (lock.channel_id, 2, (), ()),
    }
