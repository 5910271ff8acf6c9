"""The provisioning file made from our database (`device_provisioning_export`): what a real hub is
handed and what the simulator reads, keyed as our side seals."""

from __future__ import annotations

import stat

import pytest
from django.core.management import CommandError, call_command

from smarthome.sync import broker, protocol
from smarthome.sync.services import device_key_for
from tests.smarthome.factories import UnitDeviceFactory, UnitSmartLockFactory

pytestmark = pytest.mark.django_db


def test_export_lists_each_hub_of_the_units_with_its_devices_keys_and_a_password(tmp_path):
    hub = UnitDeviceFactory()
    lock = UnitSmartLockFactory(unit=hub.unit, hub=hub)
    UnitDeviceFactory()  # another unit's hub: not asked for
    output = tmp_path / "hubs.json"

    call_command("device_provisioning_export", "--output", str(output), "--unit", str(hub.unit_id))

    (exported,) = broker.provisioning_load(output.read_text())
    assert exported.channel_id == hub.channel_id and len(exported.password) >= 24
    kinds = [(d.channel_id, d.kind) for d in exported.devices]
    assert kinds == [(hub.channel_id, "hub"), (lock.channel_id, "smart_lock")]
    sealed = protocol.pin_seal(key=device_key_for(channel_id=lock.channel_id), pin="4821")
    assert protocol.pin_open(key=exported.devices[1].key.encode(), sealed=sealed) == "4821"
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


def test_a_second_export_keeps_the_passwords_already_issued(tmp_path):
    first, second = UnitDeviceFactory(), UnitDeviceFactory()
    output = tmp_path / "hubs.json"
    call_command("device_provisioning_export", "--output", str(output), f"--channel={first.channel_id}")
    (issued,) = broker.provisioning_load(output.read_text())

    call_command("device_provisioning_export", "--output", str(output), "--all")

    passwords = {h.channel_id: h.password for h in broker.provisioning_load(output.read_text())}
    assert passwords[first.channel_id] == issued.password
    assert second.channel_id in passwords and passwords[second.channel_id] != issued.password


def test_a_device_behind_a_hub_is_not_a_channel_to_export(tmp_path):
    hub = UnitDeviceFactory()
    lock = UnitSmartLockFactory(unit=hub.unit, hub=hub)
    with pytest.raises(CommandError, match="not a hub of ours"):
        call_command("device_provisioning_export", "--output", str(tmp_path / "x.json"), f"--channel={lock.channel_id}")
