"""The console in a real browser shows a unit whose move-out reset waits for its offline hub, and
clears it once the hub returns and confirms (screenshots: admin-devices-*)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command

from myspacecore.demo.accounts import DEMO_OPERATOR_ADMIN_PASSWORD, DEMO_OPERATOR_ADMIN_USERNAME
from myspacecore.tenancy.models import Unit
from myspacecore.tenancy.roles import operator_roles_sync
from smarthome.models import Device, PinCode
from smarthome.services import unit_settings_reset
from smarthome.sync.backends.simulated import hub_offline_set
from smarthome.sync.services import desired_resend

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_sees_a_reset_pending_on_the_device_until_the_hub_confirms(page, screenshot):
    importlib.import_module("accounts.migrations.0002_seed_user_attributes").seed(django_apps, None)
    operator_roles_sync()
    call_command("seed_demo")
    unit = Unit.objects.get(number="201")
    hub = Device.objects.get(unit=unit, kind=Device.Kind.HUB)
    hub_offline_set(channel_id=hub.channel_id, offline=True)
    unit_settings_reset(unit=unit)

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/login/")
    page.get_by_label("ユーザー名").fill(DEMO_OPERATOR_ADMIN_USERNAME)
    page.get_by_label("パスワード").fill(DEMO_OPERATOR_ADMIN_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto("/admin/smarthome/device/")
    screenshot(page, "admin-devices-sync")
    page.goto("/admin/smarthome/device/?sync=reset")
    pending = page.locator("td.field-sync_summary", has_text="リセットの確認待ち")
    pending.first.wait_for()
    screenshot(page, "admin-devices-reset-pending")
    assert pending.count() == 2  # the unit's hub and the lock behind it

    hub_offline_set(channel_id=hub.channel_id, offline=False)
    desired_resend(channel_id=hub.channel_id)  # the hub is back and asks for its state
    page.reload()
    assert pending.count() == 0
    assert not PinCode.all_objects.filter(device__unit=unit).exists()
