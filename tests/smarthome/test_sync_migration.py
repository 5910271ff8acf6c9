"""The device-channel migration on a database that already holds devices and settings."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from smarthome.sync import protocol

BEFORE = [("smarthome", "0003_device_unit_in_tenancy")]
AFTER = [("smarthome", "0004_device_channel")]


# serialized_rollback: the flush after this test then leaves the tables empty for the next
# serialized test to load its rows into (a plain flush re-creates content types it would clash with).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_existing_devices_get_their_own_channel_and_their_settings_wait_to_be_sent():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    # The models as the database now holds them: smarthome rolled back, accounts at its newest
    # (migrating smarthome back leaves accounts' later columns, e.g. the staff e-mail, in place).
    accounts = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "accounts"]
    old = executor.loader.project_state([*BEFORE, *accounts]).apps
    user = old.get_model("accounts", "User").objects.create(phone_number="+819099990001", username="+819099990001")
    Device = old.get_model("smarthome", "Device")
    hub = Device.objects.create(kind="hub", name="ハブ", serial_number="OLD-1", owner_user_id=user.pk)
    Device.objects.create(kind="hub", name="空のハブ", serial_number="OLD-2", owner_user_id=user.pk)
    old.get_model("smarthome", "RemoteControlSetting").objects.create(
        device=hub, name="エアコン", appliance_type="air_conditioner"
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    devices = {d.serial_number: d for d in new.get_model("smarthome", "Device").objects.all()}
    remote = new.get_model("smarthome", "RemoteControlSetting")._base_manager.get()

    assert len({d.channel_id for d in devices.values()}) == 2
    assert all(protocol.CHANNEL_ID_RE.match(d.channel_id) for d in devices.values())
    assert (devices["OLD-1"].desired_version, devices["OLD-1"].reported_version) == (1, 0)
    assert devices["OLD-1"].pending_since is not None
    assert (devices["OLD-2"].desired_version, devices["OLD-2"].pending_since) == (0, None)
    assert (remote.changed_version, remote.sync_state) == (1, "setting")
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
