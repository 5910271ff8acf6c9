"""The move-out sweep's PostgreSQL statement (smarthome.services._units_settings_reset) leaves what
the ORM path leaves: settings REMOVING at each device's new version, one reset per device, one
publish per channel, and a reset confirmed once the device reports the empty state."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from smarthome.models import Device, DeviceSettingsReset, PinCode, RemoteControlSetting, SyncState
from smarthome.services import leases_ended_reset
from smarthome.sync.backends import memory
from tests.factories import LeaseFactory, UnitFactory
from tests.smarthome.factories import (
    PinCodeFactory,
    RemoteControlSettingFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)
from tests.smarthome.sync_helpers import hub_answers_now, memory_transport  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.mark.usefixtures("memory_transport")
def test_the_sweep_statement_marks_removals_records_resets_and_publishes_each_channel(
    django_capture_on_commit_callbacks,
):
    assert connection.vendor == "postgresql"
    today = timezone.localdate()
    units = [UnitFactory() for _ in range(2)]
    hubs = []
    for unit in units:
        LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 2 * DAY)
        hub = UnitDeviceFactory(unit=unit, desired_version=4, reported_version=4)
        lock = UnitSmartLockFactory(unit=unit, hub=hub, desired_version=7, reported_version=7)
        RemoteControlSettingFactory(device=hub, sync_state=SyncState.SET)
        PinCodeFactory.create_batch(2, device=lock, sync_state=SyncState.SET)
        hubs.append(hub)

    with django_capture_on_commit_callbacks(execute=True):
        result = leases_ended_reset(dry_run=False)

    assert result.processed == 2
    assert sorted(m.channel_id for m in memory.outbox) == sorted(h.channel_id for h in hubs)
    versions = dict(Device.objects.values_list("kind", "desired_version").distinct())
    assert versions == {"hub": 5, "smart_lock": 8}
    assert set(PinCode.all_objects.values_list("sync_state", "changed_version")) == {(SyncState.REMOVING, 8)}
    assert set(RemoteControlSetting.all_objects.values_list("sync_state", "changed_version")) == {
        (SyncState.REMOVING, 5)
    }
    resets = set(DeviceSettingsReset.objects.values_list("reason", "version", "confirmed_at"))
    assert resets == {("move_out", 5, None), ("move_out", 8, None)}

    for hub in hubs:
        hub_answers_now(hub.channel_id)
    assert not PinCode.all_objects.exists() and not RemoteControlSetting.all_objects.exists()
    assert not DeviceSettingsReset.objects.filter(confirmed_at__isnull=True).exists()
