"""factory_boy factories of the smarthome app (PINs are encrypted exactly as the service does)."""

from __future__ import annotations

import factory

from smarthome.crypto import pin_encrypt, pin_lookup
from smarthome.models import ApplianceType, Device, DeviceKind, PinCode, RemoteControlSetting
from tests.factories import ResidentFactory, UnitFactory


class DeviceFactory(factory.django.DjangoModelFactory):
    """A hub the resident bought (owned by an account)."""

    class Meta:
        model = Device

    kind = DeviceKind.HUB
    name = factory.Sequence(lambda n: f"ハブ{n}")
    serial_number = factory.Sequence(lambda n: f"SC-TEST-{n:06d}")
    owner_user = factory.SubFactory(ResidentFactory)
    unit = None


class UnitDeviceFactory(DeviceFactory):
    """A device installed in a unit of an operator's property."""

    owner_user = None
    unit = factory.SubFactory(UnitFactory)


class SmartLockFactory(DeviceFactory):
    kind = DeviceKind.SMART_LOCK
    name = factory.Sequence(lambda n: f"玄関ドア{n}")


class UnitSmartLockFactory(UnitDeviceFactory):
    kind = DeviceKind.SMART_LOCK
    name = factory.Sequence(lambda n: f"玄関ドア{n}")


class RemoteControlSettingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RemoteControlSetting

    device = factory.SubFactory(DeviceFactory)
    name = factory.Sequence(lambda n: f"エアコン{n}")
    appliance_type = ApplianceType.AIR_CONDITIONER
    maker = "ダイキン"
    signal_data = "preset:ac-01"


def unique_pin(n: int) -> str:
    """Six digits that are never trivial: 7 then 0 is a step of 3, so no run and no repeat."""
    return f"70{n:03d}3"


class PinCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PinCode
        exclude = ["pin"]

    device = factory.SubFactory(SmartLockFactory)
    label = factory.Sequence(lambda n: f"家族{n}")
    pin = factory.Sequence(unique_pin)
    pin_encrypted = factory.LazyAttribute(lambda o: pin_encrypt(o.pin))
    pin_lookup = factory.LazyAttribute(lambda o: pin_lookup(device_id=o.device.pk, pin=o.pin))
    valid_from = None
    valid_until = None
