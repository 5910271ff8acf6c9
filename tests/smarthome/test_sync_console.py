"""The operator console shows the devices that have not confirmed: resets pending on the device
(with how long they have waited), long-unconfirmed and offline devices; only its own."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from myspacecore.tenancy.roles import operator_roles_sync
from smarthome import services
from smarthome.models import Device, PinCode, RemoteControlSetting, SyncState
from tests.admin.conftest import tenant_build
from tests.factories import StaffFactory
from tests.smarthome.sync_helpers import hub_answers_now, last_desired

pytestmark = pytest.mark.django_db

DEVICES = reverse("admin:smarthome_device_changelist")


@pytest.fixture
def tenants(db):
    operator_roles_sync()
    return tenant_build("A"), tenant_build("B")


def test_a_unit_reset_pending_on_the_device_is_listed_with_its_wait_until_confirmed(client, tenants, memory_transport):
    a, b = tenants
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=5), tick=False):
        services.unit_settings_reset(unit=a.unit)
        services.unit_settings_reset(unit=b.unit)
    client.force_login(a.admin)

    content = client.get(DEVICES, {"sync": "reset"}).content.decode()

    assert "A-HUB" in content and "A-LOCK" in content
    assert "リセットの確認待ち（5時間）" in content
    assert "B-HUB" not in content, "another operator's units are not listed"

    hub_answers_now(a.objects["smarthome.Device"].channel_id)  # the hub answers for itself
    hub_answers_now(a.lock.channel_id)  # the lock (not behind the hub here) answers for itself
    content = client.get(DEVICES, {"sync": "reset"}).content.decode()
    assert "A-HUB" not in content and "A-LOCK" not in content


def test_devices_unconfirmed_past_the_threshold_and_offline_are_shown(client, tenants, memory_transport, settings):
    settings.SMARTHOME_DEVICE_CONFIRM_WARN_AFTER_SECONDS = 3600
    a, _b = tenants
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=2), tick=False):
        services.pin_code_create(device=a.lock, label="家族", pin="482915")
    hub = a.objects["smarthome.Device"]
    Device.objects.filter(pk=hub.pk).update(
        sync_failure=Device.SyncFailure.OFFLINE, sync_failure_since=timezone.now() - datetime.timedelta(days=1)
    )
    client.force_login(a.admin)

    overdue = client.get(DEVICES, {"sync": "overdue"}).content.decode()
    every = client.get(DEVICES).content.decode()

    assert "A-LOCK" in overdue and "A-HUB" not in overdue
    assert "確認待ち（2時間）" in every and "オフライン（1日前から）" in every


def _console_action(client, model, pks, action="delete_selected"):
    url = reverse(f"admin:smarthome_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": pks, "post": "yes"})


@pytest.fixture
def platform(db):
    """Platform staff: operators only read settings; platform staff may delete or change them."""
    return StaffFactory(username="platform", is_superuser=True)


def test_a_pin_deleted_in_the_console_is_removed_from_the_lock_not_only_from_our_table(
    client, tenants, platform, memory_transport, django_capture_on_commit_callbacks
):
    a, _b = tenants
    pin = services.pin_code_create(device=a.lock, label="管理会社", pin="482915")
    hub_answers_now(a.lock.channel_id)
    version = Device.objects.get(pk=a.lock.pk).desired_version
    client.force_login(platform)
    memory_transport.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:smarthome_pincode_delete", args=[pin.pk]), {"post": "yes"})

    assert response.status_code == 302
    lock = Device.objects.get(pk=a.lock.pk)
    assert lock.desired_version == version + 1, "the lock is told"
    removing = PinCode.all_objects.get(pk=pin.pk)
    assert removing.sync_state == SyncState.REMOVING, "kept until the lock confirms"
    assert [m.channel_id for m in memory_transport.outbox] == [a.lock.channel_id]
    assert f"p{pin.pk}" not in {p.ref for d in last_desired(a.lock.channel_id).devices for p in d.pins}

    hub_answers_now(a.lock.channel_id)
    assert not PinCode.all_objects.filter(pk=pin.pk).exists(), "gone once the lock confirmed"


def test_remote_settings_changed_and_deleted_in_the_console_reach_the_hub(
    client, tenants, platform, memory_transport, django_capture_on_commit_callbacks
):
    a, _b = tenants
    hub = a.objects["smarthome.Device"]
    remote = services.remote_setting_create(device=hub, name="エアコン", appliance_type="air_conditioner")
    hub_answers_now(hub.channel_id)
    client.force_login(platform)
    version = Device.objects.get(pk=hub.pk).desired_version
    change_url = reverse("admin:smarthome_remotecontrolsetting_change", args=[remote.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url, {"name": "寝室のエアコン", "appliance_type": "air_conditioner", "maker": ""})
    assert response.status_code == 302
    assert Device.objects.get(pk=hub.pk).desired_version == version + 1
    sent = {r.ref: r.name for d in last_desired(hub.channel_id).devices for r in d.remotes}
    assert sent[f"r{remote.pk}"] == "寝室のエアコン"

    with django_capture_on_commit_callbacks(execute=True):
        _console_action(client, "remotecontrolsetting", [remote.pk])
    assert Device.objects.get(pk=hub.pk).desired_version == version + 2
    assert RemoteControlSetting.all_objects.get(pk=remote.pk).sync_state == SyncState.REMOVING
    assert f"r{remote.pk}" not in {r.ref for d in last_desired(hub.channel_id).devices for r in d.remotes}
