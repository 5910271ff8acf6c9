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
from smarthome.models import Device
from tests.admin.conftest import tenant_build
from tests.smarthome.sync_helpers import hub_answers_now

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
