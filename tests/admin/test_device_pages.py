"""The device pages of the console: a device belongs to a unit or to a resident, never both nor
neither, and saying so is a message next to the field, never the constraint's 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from smarthome.models import Device

pytestmark = pytest.mark.django_db

ADD = reverse("admin:smarthome_device_add")
NO_UNIT = "住戸を選択してください。住戸に設置するデバイスは、住戸の指定が必要です。"


def device_form(**fields) -> dict:
    return {"kind": Device.Kind.HUB, "name": "新しいハブ", "serial_number": "SC-NEW-0001", **fields}


def field_errors(response, field) -> list[str]:
    return response.context["adminform"].form.errors.get(field, [])


def test_an_operator_adding_a_device_without_a_unit_is_told_to_choose_one(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)

    response = client.post(ADD, device_form())

    assert response.status_code == HTTPStatus.OK
    assert field_errors(response, "unit") == [NO_UNIT]
    assert NO_UNIT in response.content.decode()
    assert not Device.objects.filter(serial_number="SC-NEW-0001").exists()


def test_an_operator_adds_a_device_to_its_own_unit(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)

    response = client.post(ADD, device_form(unit=a.unit.pk))

    assert response.status_code == HTTPStatus.FOUND
    device = Device.objects.get(serial_number="SC-NEW-0001")
    assert (device.unit, device.owner_user) == (a.unit, None)


def test_an_operator_clearing_the_unit_of_a_device_is_told_to_choose_one(client, tenants):
    a, _b = tenants
    hub = a.objects["smarthome.Device"]
    client.force_login(a.admin)

    response = client.post(reverse("admin:smarthome_device_change", args=[hub.pk]), device_form(unit=""))

    assert field_errors(response, "unit") == [NO_UNIT]
    hub.refresh_from_db()
    assert hub.unit == a.unit


def test_platform_staff_adding_a_unit_to_a_residents_own_device_are_told_it_cannot_have_both(
    client, tenants, superuser
):
    a, _b = tenants
    own = a.owner_device
    client.force_login(superuser)
    data = device_form(serial_number=own.serial_number, owner_user=own.owner_user_id, unit=a.unit.pk)

    response = client.post(reverse("admin:smarthome_device_change", args=[own.pk]), data)

    assert response.status_code == HTTPStatus.OK
    assert field_errors(response, "unit") == ["所有アカウントか住戸のどちらか一方だけを指定してください。"]
    own.refresh_from_db()
    assert (own.owner_user, own.unit) == (a.resident, None)


def test_platform_staff_adding_a_device_with_neither_owner_nor_unit_get_the_message(client, superuser, tenants):
    client.force_login(superuser)

    response = client.post(ADD, device_form())

    assert field_errors(response, "unit") == [NO_UNIT]
    assert not Device.objects.filter(serial_number="SC-NEW-0001").exists()


def test_a_residents_own_device_shown_read_only_refuses_a_unit(tenants, rf):
    """The operator's form has no owner field (read-only): the stored owner is what the rule sees."""
    from smarthome.forms import DeviceAdminForm

    a, _b = tenants
    own = a.owner_device

    class OperatorDeviceForm(DeviceAdminForm):
        class Meta(DeviceAdminForm.Meta):
            fields = ["kind", "name", "serial_number", "unit"]

    form = OperatorDeviceForm(device_form(serial_number=own.serial_number, unit=a.unit.pk), instance=own)

    assert not form.is_valid()
    assert form.errors["unit"] == [
        "入居者がご自身で購入したデバイスです。住戸は設定できません（住戸を空欄にしてください）。"
    ]
