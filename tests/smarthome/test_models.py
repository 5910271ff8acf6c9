"""Database constraints: they hold even for code that skips the services."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from smarthome.models import Device, DeviceKind, PinCode
from tests.factories import ResidentFactory, UnitFactory
from tests.smarthome.factories import DeviceFactory, PinCodeFactory, SmartLockFactory

pytestmark = pytest.mark.django_db


def refused(**fields) -> bool:
    try:
        with transaction.atomic():
            Device.objects.create(kind=DeviceKind.HUB, name="ハブ", serial_number="SC-X", **fields)
    except IntegrityError:
        return True
    return False


def test_device_belongs_to_exactly_one_of_account_or_unit():
    assert refused(owner_user=None, unit=None)
    assert refused(owner_user=ResidentFactory(), unit=UnitFactory())
    assert not refused(owner_user=ResidentFactory(), unit=None)


def test_device_serial_number_is_unique_and_name_not_empty():
    DeviceFactory(serial_number="SC-DUP")
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceFactory(serial_number="SC-DUP")
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceFactory(name="")


def test_pin_window_must_end_after_it_starts():
    start = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        PinCodeFactory(valid_from=start, valid_until=start)
    PinCodeFactory(valid_from=start, valid_until=start + datetime.timedelta(minutes=1))


def test_pin_state_follows_its_window():
    start = timezone.now()
    pin_code = PinCodeFactory.build(
        device=SmartLockFactory(), valid_from=start, valid_until=start + datetime.timedelta(hours=1)
    )
    assert pin_code.state(start - datetime.timedelta(seconds=1)) == PinCode.State.SCHEDULED
    assert pin_code.state(start) == PinCode.State.ACTIVE
    assert pin_code.state(start + datetime.timedelta(hours=1)) == PinCode.State.EXPIRED
