"""Selectors: which devices a resident sees (lease states by date) and which PINs open a lock now."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from smarthome.selectors import (
    device_get_for_user,
    device_list_for_user,
    devices_for_user,
    pin_code_get_for_user,
    remote_setting_get_for_user,
)
from tests.factories import LeaseFactory, ResidentFactory
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)

pytestmark = pytest.mark.django_db

JST = datetime.timezone(datetime.timedelta(hours=9))


def test_active_pins_follow_their_validity_window(time_machine):
    time_machine.move_to(datetime.datetime(2026, 4, 1, 8, 0, tzinfo=JST), tick=False)
    lock = SmartLockFactory()
    family = PinCodeFactory(device=lock)
    cleaner = PinCodeFactory(
        device=lock,
        valid_from=datetime.datetime(2026, 4, 1, 9, 0, tzinfo=JST),
        valid_until=datetime.datetime(2026, 4, 1, 17, 0, tzinfo=JST),
    )
    PinCodeFactory()  # another lock

    def active() -> set:
        return {pin for pin in lock.pin_codes.all() if pin.state() == pin.State.ACTIVE}

    assert active() == {family}
    time_machine.move_to(datetime.datetime(2026, 4, 1, 9, 0, tzinfo=JST), tick=False)
    assert active() == {family, cleaner}
    time_machine.move_to(datetime.datetime(2026, 4, 1, 17, 0, tzinfo=JST), tick=False)
    assert active() == {family}
    noon = datetime.datetime(2026, 4, 1, 12, 0, tzinfo=JST)
    assert {pin for pin in lock.pin_codes.all() if pin.state(noon) == pin.State.ACTIVE} == {family, cleaner}


@pytest.mark.parametrize("visible_devices", [devices_for_user, device_list_for_user])
def test_resident_sees_unit_devices_only_while_the_lease_is_current(time_machine, visible_devices):
    """Both reads of the rule: the QuerySet (data export) and the device list page's statement."""
    time_machine.move_to(datetime.datetime(2026, 4, 1, 12, 0, tzinfo=JST), tick=False)
    resident = ResidentFactory()
    own = DeviceFactory(owner_user=resident)
    unit_device = UnitDeviceFactory()
    LeaseFactory(
        unit=unit_device.unit,
        resident=resident,
        start_date=datetime.date(2026, 4, 10),
        end_date=datetime.date(2026, 6, 30),
    )
    LeaseFactory(unit=UnitDeviceFactory().unit, resident=ResidentFactory())  # another account's unit
    DeviceFactory()  # another account's own device

    assert set(visible_devices(user=resident)) == {own}  # future lease
    time_machine.move_to(datetime.datetime(2026, 4, 10, 0, 1, tzinfo=JST), tick=False)
    assert set(visible_devices(user=resident)) == {own, unit_device}  # first day
    time_machine.move_to(datetime.datetime(2026, 6, 30, 23, 59, tzinfo=JST), tick=False)
    assert set(visible_devices(user=resident)) == {own, unit_device}  # last day
    assert device_get_for_user(user=resident, device_id=unit_device.pk) == unit_device
    time_machine.move_to(datetime.datetime(2026, 7, 1, 0, 1, tzinfo=JST), tick=False)
    assert set(visible_devices(user=resident)) == {own}  # past lease
    assert set(visible_devices(user=resident, on=datetime.date(2026, 5, 1))) == {own, unit_device}
    with pytest.raises(Http404):
        device_get_for_user(user=resident, device_id=unit_device.pk)


def test_device_get_finds_exactly_the_devices_of_devices_for_user(django_assert_num_queries):
    """The page of one device (plain SQL) applies the rule of the list (the ORM), unit and
    property read with it."""
    resident = ResidentFactory()
    own = DeviceFactory(owner_user=resident)
    current = UnitSmartLockFactory()
    LeaseFactory(unit=current.unit, resident=resident)
    future = UnitDeviceFactory()
    LeaseFactory(unit=future.unit, resident=resident, start_date=timezone.localdate() + datetime.timedelta(days=9))
    ended = UnitDeviceFactory()
    LeaseFactory(
        unit=ended.unit,
        resident=resident,
        start_date=datetime.date(2020, 4, 1),
        end_date=timezone.localdate() - datetime.timedelta(days=1),
    )
    others = [DeviceFactory(), UnitDeviceFactory()]
    LeaseFactory(unit=others[1].unit, resident=ResidentFactory())

    visible = set(devices_for_user(user=resident))
    assert visible == {own, current}
    for device in [own, current, future, ended, *others]:
        if device in visible:
            with django_assert_num_queries(1):
                found = device_get_for_user(user=resident, device_id=device.pk)
                shown = (found.unit.property.name, found.unit.number) if found.unit else None
            assert found == device
            assert shown == ((device.unit.property.name, device.unit.number) if device.unit else None)
            assert (found.name, found.kind, found.desired_version) == (device.name, device.kind, device.desired_version)
        else:
            with pytest.raises(Http404):
                device_get_for_user(user=resident, device_id=device.pk)


def test_lease_of_another_account_on_the_unit_shows_nothing():
    resident = ResidentFactory()
    unit_device = UnitDeviceFactory()
    LeaseFactory(unit=unit_device.unit, resident=ResidentFactory())
    LeaseFactory(unit=unit_device.unit, resident=None)
    assert list(devices_for_user(user=resident)) == []


def test_device_list_counts_remotes_and_pins():
    lock = SmartLockFactory()
    PinCodeFactory.create_batch(3, device=lock)
    (device,) = device_list_for_user(user=lock.owner_user)
    assert (device.remote_setting_count, device.pin_code_count) == (0, 3)


def test_device_list_page_has_counts_and_the_unit_of_each_device():
    resident = ResidentFactory()
    hub = DeviceFactory(owner_user=resident)
    RemoteControlSettingFactory.create_batch(2, device=hub)
    lock = UnitSmartLockFactory()
    PinCodeFactory.create_batch(3, device=lock)
    LeaseFactory(unit=lock.unit, resident=resident)
    LeaseFactory(unit=lock.unit, resident=resident)  # two current entries: the lock is listed once

    listed = {
        d: (d.remote_setting_count, d.pin_code_count, d.property_name, d.unit_number)
        for d in device_list_for_user(user=resident)
    }
    assert listed == {hub: (2, 0, None, None), lock: (0, 3, lock.unit.property.name, lock.unit.number)}


def test_an_anonymous_user_finds_no_device_remote_or_pin():
    """The `*_for_user` selectors take a page's `request.user` as it is: anonymous sees nothing."""
    lock = SmartLockFactory()
    remote = RemoteControlSettingFactory(device=lock)
    pin = PinCodeFactory(device=lock)
    anonymous = AnonymousUser()
    assert list(devices_for_user(user=anonymous)) == []
    assert device_list_for_user(user=anonymous) == []
    for lookup, kwargs in [
        (device_get_for_user, {"device_id": lock.pk}),
        (remote_setting_get_for_user, {"remote_setting_id": remote.pk}),
        (pin_code_get_for_user, {"pin_code_id": pin.pk}),
    ]:
        with pytest.raises(Http404):
            lookup(user=anonymous, **kwargs)
