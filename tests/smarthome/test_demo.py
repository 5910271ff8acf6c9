"""Demo smart-home data: idempotent, on the demo owner and units 101/102/201."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import User
from myspacecore.demo.smarthome import DEMO_OWNER_PHONE, demo_smarthome_seed
from smarthome.models import Device, PinCode, RemoteControlSetting, SyncState

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (User.objects.count(), Device.objects.count(), RemoteControlSetting.objects.count(), PinCode.objects.count())


def test_demo_seed_is_idempotent_and_covers_owner_and_units():
    demo_smarthome_seed()
    first = counts()
    demo_smarthome_seed()
    assert counts() == first

    owner = User.objects.get(phone_number=DEMO_OWNER_PHONE)
    assert owner.attribute.code == "owner"
    assert Device.objects.filter(owner_user=owner).count() == 2
    assert sorted(Device.objects.filter(unit__isnull=False).values_list("unit__number", flat=True)) == [
        "101",
        "101",
        "102",
        "102",
        "201",
        "201",
    ]
    assert first[1:] == (8, 8, 8)


def test_seed_demo_command_loads_the_smarthome_demo():
    call_command("seed_demo")
    assert Device.objects.count() == 8
    assert PinCode.objects.count() == 8


def test_demo_settings_reach_their_locks_except_behind_the_hub_kept_offline(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo_smarthome_seed()
    owner_pins = PinCode.all_objects.filter(device__owner_user__phone_number=DEMO_OWNER_PHONE)
    assert set(owner_pins.values_list("sync_state", flat=True)) == {SyncState.SET}
    assert set(PinCode.all_objects.filter(device__unit__number="101").values_list("sync_state", flat=True)) == {
        SyncState.SET
    }
    offline_lock = Device.objects.get(unit__number="102", kind="smart_lock")
    assert offline_lock.hub is not None and offline_lock.sync_failure == Device.SyncFailure.OFFLINE
    assert set(PinCode.all_objects.filter(device=offline_lock).values_list("sync_state", flat=True)) == {
        SyncState.SETTING
    }
