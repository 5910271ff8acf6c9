"""Issue 15 end to end: our database reaches the right state through the real pieces.

The real PostgreSQL test database; a Mosquitto of the test's own with the password file and ACL
that `device_broker_credentials` writes from the provisioning file that
`device_provisioning_export` writes from our devices; the real `manage.py device_gateway` in a
child process calling our `report_record` and `desired_resend`; simulated hubs (in this process)
holding each device's state. A change commits through our services (or a resident's page) and is
published with the MQTT backend by `smarthome.device_desired_publish` run eagerly in this process
on commit (the gateway process runs its answers to `get` and its lag sweep eagerly too): the task
body is the same on a worker, and a worker per test would add a Redis hop and a process on two
shared cores without proving more about the device channel (tests/integration/test_purge_worker.py
covers the worker path). The transport properties the MemoryCloud tests prove
(test_device_channel_*.py) are not repeated; these prove what our rows say.

The hubs ask again for the whole state after 2 s here (30 s, doubling to 300 s, in production).
"""

from __future__ import annotations

import datetime
import signal
import time
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.services.deletion import account_delete
from myspacecore.tenancy.models import Lease
from smarthome import services
from smarthome.models import Device, DeviceSettingsReset, PinCode, RemoteControlSetting, SettingsPurgeRequest, SyncState
from smarthome.sync import broker, protocol
from smarthome.sync.backends import mqtt as mqtt_backend
from smarthome.sync.selectors import units_reset_pending
from smarthome.sync.services import desired_lagging_republish
from smarthome.sync.simulator import Faults, Simulator
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, UnitFactory
from tests.integration.device_channel import (
    PREFIX,
    Listener,
    Mosquitto,
    gateway_command,
    gateway_subscribed,
    reported_payload,
    wait_until,
)
from tests.smarthome.factories import UnitDeviceFactory, UnitSmartLockFactory

# serialized_rollback like the other transactional tests: a plain flush re-creates content types
# that the next serialized test would clash with when it loads its rows.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

GET_RETRY_SECONDS = 2.0
DAY = datetime.timedelta(days=1)


class Home:
    """A unit with a hub and a smart lock behind it, and its resident on a current lease."""

    def __init__(self) -> None:
        self.unit = UnitFactory()
        self.resident = ResidentFactory()
        ProfileFactory(user=self.resident)  # past the sign-up wizard
        self.lease = LeaseFactory(unit=self.unit, resident=self.resident, start_date=timezone.localdate() - 60 * DAY)
        self.hub = UnitDeviceFactory(unit=self.unit)
        self.lock = UnitSmartLockFactory(unit=self.unit, hub=self.hub)

    def lease_ended(self) -> None:
        Lease.objects.filter(pk=self.lease.pk).update(end_date=timezone.localdate() - 2 * DAY)


class Channel:
    """The broker, the gateway process and the simulated hubs of one test."""

    def __init__(self, folder: Path, settings, homes: list[Home]) -> None:
        self.folder = folder
        self.homes = homes
        self.mosquitto = Mosquitto(folder / "broker", hubs=[], files_ready=True)
        settings.SMARTHOME_MQTT_URL = self.mosquitto.url()
        settings.SMARTHOME_MQTT_TOPIC_PREFIX = PREFIX
        settings.SMARTHOME_DEVICE_TRANSPORT_BACKEND = "smarthome.sync.backends.mqtt.Transport"
        provisioning = folder / "hubs.json"
        unit_args = [arg for home in homes for arg in ("--unit", str(home.unit.pk))]
        call_command("device_provisioning_export", "--output", str(provisioning), *unit_args)
        call_command(
            "device_broker_credentials",
            "--provisioning",
            str(provisioning),
            "--password-file",
            str(self.mosquitto.folder / "passwd"),
            "--acl-file",
            str(self.mosquitto.folder / "acl"),
        )
        self.provisioned = {hub.channel_id: hub for hub in broker.provisioning_load(provisioning.read_text())}
        self.mosquitto.start()
        self.gateway_log = folder / "gateway.log"
        self.gateway = None
        self.gateway_starts = 0
        self.simulator: Simulator | None = None
        db = connection.settings_dict
        self.database_url = (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        self.redis_url = settings.REDIS_URL

    def gateway_start(self) -> None:
        self.gateway = gateway_command(
            self.mosquitto,
            client_id="msc-gateway-e2e",
            log=self.gateway_log,
            database_url=self.database_url,
            redis_url=self.redis_url,
        )
        self.gateway_starts += 1
        gateway_subscribed(self.mosquitto, "msc-gateway-e2e", times=self.gateway_starts)

    def simulator_start(self, **faults) -> Simulator:
        self.simulator = Simulator(
            address=self.mosquitto.address(),
            prefix=PREFIX,
            hubs=list(self.provisioned.values()),
            threads=1,
            faults=Faults(**faults),
            get_retry_seconds=GET_RETRY_SECONDS,
        )
        self.simulator.start()
        assert self.simulator.wait_connected(20), "the simulated hubs did not all connect"
        # Every hub's first `get` answered and its (empty) state reported.
        wait_until(
            lambda: not Device.objects.filter(reported_at__isnull=True).exists(), timeout=20, what="the first reports"
        )
        return self.simulator

    def held(self, home: Home) -> dict[str, str]:
        """The PINs the simulated lock holds, by ref (in clear: inside the lock)."""
        assert self.simulator is not None
        return dict(self.simulator.hubs[home.hub.channel_id].devices[home.lock.channel_id].pins)

    def remotes_held(self, home: Home) -> set[str]:
        assert self.simulator is not None
        return set(self.simulator.hubs[home.hub.channel_id].devices[home.hub.channel_id].remotes)

    def offline(self, home: Home) -> None:
        assert self.simulator is not None
        self.simulator.offline(home.hub.channel_id)
        hub = self.simulator.hubs[home.hub.channel_id]
        wait_until(lambda: not hub.connected.is_set(), what="the hub going offline")

    def online(self, home: Home) -> None:
        assert self.simulator is not None
        self.simulator.online(home.hub.channel_id)

    def close(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGCONT)
            self.gateway.terminate()
            try:
                self.gateway.wait(timeout=10)
            except Exception:  # noqa: BLE001 - a stuck gateway is killed; the test's verdict stands
                self.gateway.kill()
        mqtt_backend.connection_close()
        self.mosquitto.stop()


@pytest.fixture
def homes(transactional_db):
    return [Home(), Home()]


@pytest.fixture
def channel(homes, settings, tmp_path):
    made = Channel(tmp_path, settings, homes)
    try:
        made.gateway_start()
        yield made
    finally:
        made.close()


def in_sync(*devices: Device) -> bool:
    rows = Device.objects.filter(pk__in=[d.pk for d in devices]).values_list("desired_version", "reported_version")
    return all(desired == reported for desired, reported in rows)


def pin_ref(pin_code: PinCode) -> str:
    return f"p{pin_code.pk}"


def device_page_item(client, device: Device, label: str) -> str:
    response = client.get(reverse("smarthome:device_detail", args=[device.pk]))
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    start = content.index(f"<strong>{label}</strong>")
    return content[start : content.index("</li>", start)]


# A PIN's way onto the lock and off it
# ------------------------------------------------------------------------------


def test_a_pin_added_on_the_resident_page_is_set_on_the_lock_and_shown_set(channel, homes, client):
    home = homes[0]
    channel.simulator_start()
    client.force_login(home.resident)

    response = client.post(
        reverse("smarthome:pin_code_create", args=[home.lock.pk]), {"label": "家族", "pin": "482915"}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("smarthome:device_detail", args=[home.lock.pk])
    pin_code = PinCode.objects.get(device=home.lock)
    wait_until(lambda: in_sync(home.lock), what="the lock's report")
    assert PinCode.objects.get(pk=pin_code.pk).sync_state == SyncState.SET
    assert channel.held(home) == {pin_ref(pin_code): "482915"}
    item = device_page_item(client, home.lock, "家族")
    assert "反映済み" in item and "有効" in item


def test_a_deleted_pin_is_shown_being_removed_until_the_lock_confirms_then_is_gone(channel, homes, client):
    home = homes[0]
    channel.simulator_start()
    pin_code = services.pin_code_create(device=home.lock, label="ゲスト", pin="639174")
    wait_until(lambda: in_sync(home.lock), what="the PIN on the lock")
    channel.offline(home)
    client.force_login(home.resident)

    client.post(reverse("smarthome:pin_code_delete", args=[pin_code.pk]))

    assert "削除中…" in device_page_item(client, home.lock, "ゲスト")
    assert channel.held(home) == {pin_ref(pin_code): "639174"}  # the lock still opens with it
    channel.online(home)
    wait_until(lambda: not PinCode.all_objects.filter(pk=pin_code.pk).exists(), what="the removal confirmed")
    assert channel.held(home) == {}
    assert in_sync(home.lock)


# Move-out and deletion finish on the device
# ------------------------------------------------------------------------------


def test_move_out_is_pending_until_every_device_reported_empty(channel, homes):
    home = homes[0]
    channel.simulator_start()
    services.pin_code_create(device=home.lock, label="家族", pin="482915")
    services.remote_setting_create(device=home.hub, name="リビング", appliance_type="air_conditioner")
    wait_until(lambda: in_sync(home.hub, home.lock), what="the settings on the devices")
    assert len(channel.held(home)) == 1 and len(channel.remotes_held(home)) == 1
    home.lease_ended()
    channel.offline(home)

    assert services.leases_ended_reset().processed == 1

    assert list(units_reset_pending()) == [home.unit]
    assert DeviceSettingsReset.objects.filter(confirmed_at__isnull=True).count() == 2
    time.sleep(GET_RETRY_SECONDS)  # nothing confirms while the hub is away
    assert list(units_reset_pending()) == [home.unit]
    channel.online(home)
    wait_until(lambda: not units_reset_pending().exists(), timeout=20, what="both devices confirming the reset")
    assert not PinCode.all_objects.exists() and not RemoteControlSetting.all_objects.exists()
    assert channel.held(home) == {} and channel.remotes_held(home) == set()


def test_account_deletion_purge_is_done_only_once_every_device_reported_empty(channel, homes):
    home = homes[0]
    channel.simulator_start()
    services.pin_code_create(device=home.lock, label="家族", pin="482915")
    wait_until(lambda: in_sync(home.lock), what="the PIN on the lock")
    home.lease_ended()
    channel.offline(home)

    deletion = account_delete(user=home.resident)

    purge_request = SettingsPurgeRequest.objects.get(pk=deletion.erased["smart_home"].pk)
    assert purge_request.state == SettingsPurgeRequest.State.AWAITING_DEVICES
    assert PinCode.all_objects.get().sync_state == SyncState.REMOVING
    assert len(channel.held(home)) == 1
    channel.online(home)
    wait_until(
        lambda: SettingsPurgeRequest.objects.get(pk=purge_request.pk).state == SettingsPurgeRequest.State.DONE,
        timeout=20,
        what="the purge request done",
    )
    assert not PinCode.all_objects.exists()
    assert channel.held(home) == {}


# Convergence under faults
# ------------------------------------------------------------------------------


def test_a_hub_offline_through_three_changes_and_a_deletion_converges_when_it_returns(channel, homes):
    home = homes[0]
    channel.simulator_start()
    first = services.pin_code_create(device=home.lock, label="家族", pin="482915")
    wait_until(lambda: in_sync(home.lock), what="the first PIN")
    channel.offline(home)

    second = services.pin_code_create(device=home.lock, label="ゲスト", pin="639174")
    third = services.pin_code_create(device=home.lock, label="清掃", pin="715382")
    services.pin_code_update(pin_code=second, label="ゲスト", valid_from=None, valid_until=timezone.now() + 7 * DAY)
    services.pin_code_delete(pin_code=PinCode.objects.get(pk=first.pk))

    assert channel.held(home) == {pin_ref(first): "482915"}
    channel.online(home)
    wait_until(lambda: in_sync(home.lock), timeout=20, what="the returning hub's report")
    assert channel.held(home) == {pin_ref(second): "639174", pin_ref(third): "715382"}
    assert not PinCode.all_objects.filter(pk=first.pk).exists()
    assert set(PinCode.all_objects.values_list("sync_state", flat=True)) == {SyncState.SET}


def test_duplicated_and_reordered_messages_leave_lock_and_database_in_the_newest_state(channel, homes):
    home = homes[0]
    sim = channel.simulator_start(duplicate=0.5, reorder=0.5, report_duplicate=0.5, seed=15)
    pins = [services.pin_code_create(device=home.lock, label=f"家族{n}", pin=f"{n}82915") for n in range(1, 6)]
    for pin_code in pins[:2]:
        services.pin_code_delete(pin_code=PinCode.objects.get(pk=pin_code.pk))

    wait_until(lambda: in_sync(home.lock), timeout=20, what="the newest version's report")
    counts = sim.hubs[home.hub.channel_id].counts
    assert counts["held"] > 0 and counts["stale"] > 0  # the knobs did reorder and duplicate
    assert channel.held(home) == {pin_ref(p): f"{n}82915" for n, p in enumerate(pins, start=1) if n > 2}
    assert PinCode.all_objects.count() == 3
    assert set(PinCode.objects.values_list("sync_state", flat=True)) == {SyncState.SET}


def test_a_broker_restart_mid_sync_converges_once_the_gateway_is_back(channel, homes):
    """Mosquitto 2.0.11 loses what hubs publish on the gateway's shared subscription between its
    restart and the gateway's SUBSCRIBE. The gateway is held (SIGSTOP) through that window while
    hub B, back from an outage, asks for its state and lock A reports a change: the hubs' repeated
    `get` and the lag sweep the gateway queues on re-subscribing bring both back."""
    a, b = homes
    sim = channel.simulator_start()
    channel.offline(b)
    on_b = services.pin_code_create(device=b.lock, label="家族", pin="482915")  # lost: hub B is away
    channel.gateway.send_signal(signal.SIGSTOP)
    try:
        channel.mosquitto.stop()
        channel.mosquitto.start()
        channel.online(b)
        assert sim.wait_connected(20), "the hubs did not reconnect to the restarted broker"
        publisher = mqtt_backend._shared_connection(broker.broker_address(channel.mosquitto.url()))
        assert publisher.connected.wait(15), "our publisher did not reconnect"
        on_a = services.pin_code_create(device=a.lock, label="家族", pin="639174")
        wait_until(lambda: channel.held(a) == {pin_ref(on_a): "639174"}, what="lock A applying its PIN")
        time.sleep(0.5)  # lock A's report and hub B's get reach the broker while the gateway is held
    finally:
        channel.gateway.send_signal(signal.SIGCONT)

    wait_until(lambda: in_sync(a.hub, a.lock, b.hub, b.lock), timeout=40, what="both hubs confirmed")
    assert channel.held(a) == {pin_ref(on_a): "639174"} and channel.held(b) == {pin_ref(on_b): "482915"}
    assert set(PinCode.objects.values_list("sync_state", flat=True)) == {SyncState.SET}
    assert channel.gateway.poll() is None
    assert "lagging channels" in channel.gateway_log.read_text()  # the sweep it queued on re-subscribing


def test_a_lost_report_is_repaired_by_the_lag_sweep(channel, homes):
    """What beat runs every 5 minutes (`desired_lagging_run`): a lock that applied a change whose
    report never arrived is sent its state again, reports what it holds, and is confirmed."""
    home = homes[0]
    sim = channel.simulator_start()
    hub = sim.hubs[home.hub.channel_id]
    hub.faults = Faults(report_drop=1.0)
    pin_code = services.pin_code_create(device=home.lock, label="家族", pin="482915")
    wait_until(lambda: channel.held(home) == {pin_ref(pin_code): "482915"}, what="the lock applying the PIN")
    wait_until(lambda: hub.counts["report_dropped"] >= 1, what="the lost report")
    assert not in_sync(home.lock)
    hub.faults = Faults()

    assert desired_lagging_republish() == 1

    wait_until(lambda: in_sync(home.lock), what="the lock's report after the sweep")
    assert PinCode.objects.get(pk=pin_code.pk).sync_state == SyncState.SET


def test_a_gateway_killed_mid_report_loses_nothing(channel, homes):
    a, b = homes
    channel.simulator_start()
    first = [services.pin_code_create(device=home.lock, label="家族", pin="482915") for home in homes]
    recorder = processes_of(channel.gateway.pid)
    assert recorder, "the command records in a process of its own"
    channel.gateway.kill()  # SIGKILL while the locks' reports arrive
    channel.gateway.wait()
    second = [services.pin_code_create(device=home.lock, label="ゲスト", pin="639174") for home in homes]
    wait_until(lambda: all(len(channel.held(home)) == 2 for home in homes), what="both locks applying both PINs")
    assert not in_sync(a.lock, b.lock)  # nobody recorded the last reports yet

    channel.gateway_start()  # the same client id: its session kept what came meanwhile

    wait_until(lambda: in_sync(a.lock, b.lock), timeout=20, what="every report, after the restart")
    for home, one, two in zip(homes, first, second, strict=True):
        assert channel.held(home) == {pin_ref(one): "482915", pin_ref(two): "639174"}
    assert set(PinCode.objects.values_list("sync_state", flat=True)) == {SyncState.SET}
    wait_until(lambda: not any(map(running, recorder)), timeout=10, what="the killed gateway's recorder leaving")


def processes_of(pid: int) -> list[int]:
    """The child processes of `pid` (Linux /proc)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited


# Security
# ------------------------------------------------------------------------------


def test_hub_a_is_denied_hub_b_topics_and_our_records_do_not_move(channel, homes):
    a, b = homes
    channel.simulator_start()
    hub_a = channel.provisioned[a.hub.channel_id]
    with Listener(channel.mosquitto.address(), username=hub_a.channel_id, password=hub_a.password) as spy:
        spy.subscribe(protocol.topic(prefix=PREFIX, channel_id=b.hub.channel_id, kind="desired"))
        spy.subscribe("#")
        on_b = services.pin_code_create(device=b.lock, label="家族", pin="482915")
        wait_until(lambda: in_sync(b.lock), what="hub B's lock confirming its PIN")
        forged = spy.publish(
            protocol.topic(prefix=PREFIX, channel_id=b.hub.channel_id, kind="reported"),
            reported_payload(b.hub.channel_id, b.lock.channel_id, Device.objects.get(pk=b.lock.pk).desired_version),
        )
        time.sleep(0.3)
    assert forged.is_failure  # the broker's PUBACK: not authorized
    assert all(topic.endswith(f"/{a.hub.channel_id}/desired") for topic, _ in spy.messages)
    assert channel.held(b) == {pin_ref(on_b): "482915"}
    assert PinCode.objects.get(pk=on_b.pk).sync_state == SyncState.SET


def test_a_report_about_a_foreign_device_is_refused_and_logged(channel, homes):
    a, b = homes
    channel.simulator_start()
    on_b = services.pin_code_create(device=b.lock, label="家族", pin="482915")
    wait_until(lambda: in_sync(b.lock), what="hub B's lock confirming its PIN")
    before = Device.objects.values_list("reported_version", "reported_at").get(pk=b.lock.pk)
    hub_a = channel.provisioned[a.hub.channel_id]
    version = Device.objects.get(pk=b.lock.pk).desired_version

    with Listener(channel.mosquitto.address(), username=hub_a.channel_id, password=hub_a.password) as forger:
        reason = forger.publish(
            protocol.topic(prefix=PREFIX, channel_id=a.hub.channel_id, kind="reported"),
            reported_payload(a.hub.channel_id, b.lock.channel_id, version),  # B's lock, empty, on A's channel
        )

    assert not reason.is_failure  # its own topic: the broker lets it through, our records refuse it
    wait_until(lambda: "our records refused the report" in channel.gateway_log.read_text(), what="the refusal")
    log = channel.gateway_log.read_text()
    assert f"report on channel {a.hub.channel_id} rejected" in log and b.lock.channel_id in log
    assert Device.objects.values_list("reported_version", "reported_at").get(pk=b.lock.pk) == before
    assert PinCode.objects.get(pk=on_b.pk).sync_state == SyncState.SET
