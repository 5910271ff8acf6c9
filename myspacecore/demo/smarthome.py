"""Demo smart-home data on top of `myspacecore.demo.accounts`: devices, remotes and PINs to look at.

Idempotent (natural keys: serial number, remote name, PIN label); refused by the
`seed_demo` command unless settings allow demo data.

Each lock is reached through its hub (one channel per hub). With the simulated transport (the
default of `make run`) the settings go 反映中 → 反映済み a moment after the seed commits, except
behind unit 102's hub, which the simulator keeps offline: its settings show
反映できませんでした (ハブがオフライン) once 090-1111-0003 has accepted the lease.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User, UserAttribute
from myspacecore.demo.accounts import DEMO_RESIDENTS, DemoAccounts, demo_accounts_seed
from myspacecore.tenancy.models import Unit
from smarthome.models import ApplianceType, Device, DeviceKind, PinCode, RemoteControlSetting
from smarthome.services import pin_code_create, remote_setting_create
from smarthome.sync.backends.simulated import hub_offline_set

DEMO_UNIT_NUMBERS = ("101", "102", "201")
# The unit whose hub the simulated transport keeps offline (its settings wait, and say why).
DEMO_OFFLINE_UNIT = "102"
# The owner of DEMO_RESIDENTS (090-1111-0001) in the form the database stores.
DEMO_OWNER_PHONE = "+819011110001"

# (name, appliance type, maker, signal data)
DEMO_REMOTES = [
    ("リビングのエアコン", ApplianceType.AIR_CONDITIONER, "ダイキン", "preset:daikin-ac-01"),
    ("リビングのテレビ", ApplianceType.TV, "シャープ", "preset:sharp-tv-03"),
]


@transaction.atomic
def demo_smarthome_seed(*, demo: DemoAccounts | None = None) -> None:
    """Give the owner resident a hub and a lock, and units 101/102/201 a hub and a lock each."""
    demo = demo or demo_accounts_seed()
    owner_attribute = DEMO_RESIDENTS[0][1]
    owner, _created = User.objects.get_or_create(
        phone_number=DEMO_OWNER_PHONE, defaults={"attribute": UserAttribute.objects.get(code=owner_attribute)}
    )
    _devices_seed(prefix="OWN-0001", owner_user=owner, unit=None)
    for number in DEMO_UNIT_NUMBERS:
        hub = _devices_seed(prefix=f"UNIT-{number}", owner_user=None, unit=demo.units[number])
        hub_offline_set(channel_id=hub.channel_id, offline=number == DEMO_OFFLINE_UNIT)


def _devices_seed(*, prefix: str, owner_user: User | None, unit: Unit | None) -> Device:
    owner = {"owner_user": owner_user, "unit": unit}
    hub, _created = Device.objects.update_or_create(
        serial_number=f"DEMO-HUB-{prefix}", defaults={"kind": DeviceKind.HUB, "name": "SpaceCore ハブ", **owner}
    )
    lock, _created = Device.objects.update_or_create(
        serial_number=f"DEMO-LOCK-{prefix}",
        defaults={"kind": DeviceKind.SMART_LOCK, "name": "玄関のスマートロック", "hub": hub, **owner},
    )
    for name, appliance_type, maker, signal_data in DEMO_REMOTES:
        if not RemoteControlSetting.objects.filter(device=hub, name=name).exists():
            remote_setting_create(
                device=hub, name=name, appliance_type=appliance_type, maker=maker, signal_data=signal_data
            )
    if not PinCode.objects.filter(device=lock, label="家族用").exists():
        pin_code_create(device=lock, label="家族用", pin="482915")
    if not PinCode.objects.filter(device=lock, label="清掃スタッフ用").exists():
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)
        pin_code_create(
            device=lock,
            label="清掃スタッフ用",
            pin="7305",
            valid_from=start,
            valid_until=start + datetime.timedelta(hours=8),
        )
    return hub
