"""The platform admin: PINs masked and read-only, lists without N+1 queries."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from smarthome.models import PinCode
from tests.factories import StaffFactory
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_pin_changelist_and_change_page_mask_the_pin(admin_client):
    pin_code = PinCodeFactory(pin="7051263", label="清掃スタッフ用")
    changelist = admin_client.get(reverse("admin:smarthome_pincode_changelist")).content.decode()
    change = admin_client.get(reverse("admin:smarthome_pincode_change", args=[pin_code.pk])).content.decode()
    for content in (changelist, change):
        assert "清掃スタッフ用" in content and "••••" in content
        assert "7051263" not in content
        assert pin_code.pin_encrypted not in content
    assert 'name="pin_encrypted"' not in change and 'name="label"' not in change


def test_pins_cannot_be_added_or_edited_in_the_admin(admin_client):
    pin_code = PinCodeFactory(label="家族用")
    assert admin_client.get(reverse("admin:smarthome_pincode_add")).status_code == HTTPStatus.FORBIDDEN
    admin_client.post(reverse("admin:smarthome_pincode_change", args=[pin_code.pk]), {"label": "変更"})
    pin_code.refresh_from_db()
    assert pin_code.label == "家族用"


def test_pin_can_be_deleted_in_the_admin(admin_client):
    pin_code = PinCodeFactory()
    response = admin_client.post(reverse("admin:smarthome_pincode_delete", args=[pin_code.pk]), {"post": "yes"})
    assert response.status_code == HTTPStatus.FOUND
    assert not PinCode.objects.exists()


@pytest.mark.parametrize(
    ("url_name", "make"),
    [
        ("admin:smarthome_device_changelist", lambda: (DeviceFactory(), UnitDeviceFactory())),
        ("admin:smarthome_remotecontrolsetting_changelist", lambda: RemoteControlSettingFactory()),
        ("admin:smarthome_pincode_changelist", lambda: PinCodeFactory(device=SmartLockFactory())),
    ],
)
def test_admin_lists_do_not_grow_queries_with_rows(admin_client, django_assert_max_num_queries, url_name, make):
    for _ in range(10):
        make()
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse(url_name))
    assert response.status_code == HTTPStatus.OK
