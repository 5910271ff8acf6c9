"""Two operators, A and B, each with a full roster, residents, devices, settings and staff.

Every row of B carries a marker ("B-...") so a test can say "nothing of B on this page".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from accounts.models import User
from myspacecore.tenancy.models import AuditLogEntry, Operator
from myspacecore.tenancy.roles import operator_roles_sync
from tests.factories import (
    LeaseFactory,
    OperatorFactory,
    ProfileFactory,
    PropertyFactory,
    ResidentFactory,
    StaffFactory,
    UnitFactory,
    attribute,
)
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)


@pytest.fixture
def otp_required(settings, operator_groups):
    """The admin's second factor required of operator admins, as in production."""
    settings.ACCOUNTS_ADMIN_OTP_REQUIRED_GROUPS = ["operator_admin"]


@pytest.fixture
def operator_groups(db):
    """The groups of the data migration (a transactional test's flush may have removed them)."""
    operator_roles_sync()


@dataclass
class Tenant:
    operator: Operator
    objects: dict = field(default_factory=dict)
    admin: User | None = None
    staff: User | None = None

    def __getattr__(self, name):
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


def tenant_build(letter: str) -> Tenant:
    from django.contrib.auth.models import Group

    operator = OperatorFactory(name=f"{letter}-OPERATOR 管理会社")
    prop = PropertyFactory(operator=operator, name=f"{letter}-PROPERTY メゾン")
    unit = UnitFactory(property=prop, number=f"{letter}-901")
    resident = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=resident, nickname=f"{letter}-NICK", email=f"{letter.lower()}-resident@example.jp")
    lease = LeaseFactory(unit=unit, phone_number=resident.phone_number, resident=resident)
    unit_device = UnitDeviceFactory(unit=unit, serial_number=f"{letter}-SERIAL-HUB", name=f"{letter}-HUB")
    lock = UnitSmartLockFactory(unit=unit, serial_number=f"{letter}-SERIAL-LOCK", name=f"{letter}-LOCK")
    owner_device = DeviceFactory(owner_user=resident, serial_number=f"{letter}-SERIAL-OWN", name=f"{letter}-OWN")
    remote = RemoteControlSettingFactory(device=unit_device, name=f"{letter}-REMOTE")
    owner_remote = RemoteControlSettingFactory(device=owner_device, name=f"{letter}-OWNREMOTE")
    pin = PinCodeFactory(device=lock, label=f"{letter}-PIN")
    admin = StaffFactory(username=f"{letter.lower()}-admin", operator=operator)
    admin.groups.set([Group.objects.get(name="operator_admin")])
    staff = StaffFactory(username=f"{letter.lower()}-staff", operator=operator)
    staff.groups.set([Group.objects.get(name="operator_staff")])
    entry = AuditLogEntry.objects.create(
        operator=operator,
        actor=admin,
        actor_label=admin.username,
        action="lease_import",
        target_label=f"{letter}-AUDIT",
    )
    objects = {
        "tenancy.Operator": operator,
        "tenancy.Property": prop,
        "tenancy.Unit": unit,
        "tenancy.Lease": lease,
        "accounts.ResidentAccount": resident,
        "accounts.StaffAccount": staff,
        "tenancy.AuditLogEntry": entry,
        "smarthome.Device": unit_device,
        "smarthome.RemoteControlSetting": remote,
        "smarthome.PinCode": pin,
        "resident": resident,
        "unit": unit,
        "lock": lock,
        "owner_device": owner_device,
        "owner_remote": owner_remote,
    }
    return Tenant(operator=operator, objects=objects, admin=admin, staff=staff)


@pytest.fixture
def tenants(operator_groups):
    return tenant_build("A"), tenant_build("B")


@pytest.fixture
def superuser(db):
    return StaffFactory(username="platform", is_superuser=True)
