"""Desired state reaches simulated hubs over a real Mosquitto and their reports come back.

The MemoryCloud stands in for the sync services (desired state and versions in memory);
the hubs are `smarthome.sync.simulator` hubs, each with its own credentials.
"""

from __future__ import annotations

import time

import pytest

from smarthome.sync import broker, protocol
from smarthome.sync.simulator import Faults, Simulator
from tests.integration.device_channel import (
    PREFIX,
    SECRET,
    Listener,
    Mosquitto,
    cloud_new,
    gateway_new,
    reported_payload,
    running_gateway,
    running_simulator,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def hubs():
    return broker.provisioning_new(hubs=3, locks_per_hub=1, secret=SECRET, slots=3)


@pytest.fixture
def mosquitto(tmp_path, hubs):
    server = Mosquitto(tmp_path / "broker", hubs=hubs)
    server.start()
    yield server
    server.stop()


def simulator_new(mosquitto, hubs, **faults):
    return Simulator(
        address=mosquitto.address(), prefix=PREFIX, hubs=hubs, threads=2, faults=Faults(**faults), get_retry_seconds=3
    )


def lock_of(hub):
    return hub.devices[1].channel_id


def confirmed(cloud, device, version):
    report = cloud.reported.get(device)
    return report is not None and report.version == version


def test_pin_added_is_applied_by_the_lock_and_confirmed_to_the_gateway(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    hub = hubs[0]
    with running_gateway(gateway_new(mosquitto, cloud)), running_simulator(simulator_new(mosquitto, hubs)) as sim:
        wait_until(lambda: not cloud.unconfirmed(), what="every hub's answer to its get")
        version = cloud.change(device=lock_of(hub), pins=[("p1", "4821")])
        wait_until(lambda: confirmed(cloud, lock_of(hub), version), what="the lock's report")
        lock = sim.hubs[hub.channel_id].devices[lock_of(hub)]
    assert lock.pins == {"p1": "4821"}
    assert cloud.reported[lock_of(hub)].pins == (protocol.ReportedItem("p1", "set"),)


def test_lock_full_is_reported_as_failed_for_the_pins_past_its_slots(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    hub = hubs[0]
    pins = [(f"p{i}", f"48{i}1") for i in range(5)]
    with running_gateway(gateway_new(mosquitto, cloud)), running_simulator(simulator_new(mosquitto, hubs)):
        version = cloud.change(device=lock_of(hub), pins=pins)
        wait_until(lambda: confirmed(cloud, lock_of(hub), version), what="the lock's report")
    statuses = [(i.ref, i.status, i.reason) for i in cloud.reported[lock_of(hub)].pins]
    assert statuses == [
        ("p0", "set", ""),
        ("p1", "set", ""),
        ("p2", "set", ""),
        ("p3", "failed", "lock_full"),
        ("p4", "failed", "lock_full"),
    ]


def test_duplicated_reordered_and_stale_messages_leave_the_lock_in_the_newest_state(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    hub = hubs[0]
    lock = lock_of(hub)
    sim = simulator_new(mosquitto, hubs, duplicate=0.5, reorder=0.5, seed=15)
    with running_gateway(gateway_new(mosquitto, cloud)), running_simulator(sim):
        payloads = []
        for n in range(1, 9):
            cloud.change(device=lock, pins=[(f"p{n}", f"{4000 + n}")])
            payloads.append(protocol.desired_encode(cloud.desired_message(channel_id=hub.channel_id)))
        wait_until(lambda: confirmed(cloud, lock, 8), what="the newest version's report")
        # Stale copies arriving late (an old message redelivered) change nothing.
        for payload in payloads[:3]:
            cloud.transport.publish(channel_id=hub.channel_id, payload=payload)
        wait_until(lambda: sim.hubs[hub.channel_id].counts["stale"] >= 3, what="the stale copies")
        state = sim.hubs[hub.channel_id].devices[lock]
        counts = sim.hubs[hub.channel_id].counts
    assert counts["held"] > 0 and counts["stale"] > 3  # the knobs did reorder and duplicate
    assert (state.version, state.pins) == (8, {"p8": "4008"})
    assert cloud.reported[lock].version == 8


def test_hub_offline_during_three_changes_converges_through_get_when_it_returns(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    hub = hubs[1]
    lock = lock_of(hub)
    with running_gateway(gateway_new(mosquitto, cloud)), running_simulator(simulator_new(mosquitto, hubs)) as sim:
        cloud.change(device=lock, pins=[("p1", "1357")])
        wait_until(lambda: confirmed(cloud, lock, 1), what="the first PIN")
        sim.offline(hub.channel_id)
        wait_until(lambda: not sim.hubs[hub.channel_id].connected.is_set(), what="the hub going offline")
        cloud.change(device=lock, pins=[("p1", "1357"), ("p2", "2468")])
        cloud.change(device=lock, pins=[("p2", "2468")])
        cloud.change(device=lock, pins=[])  # the resident's deletion: nothing left on the lock
        time.sleep(0.3)
        assert sim.hubs[hub.channel_id].devices[lock].pins == {"p1": "1357"}
        sim.online(hub.channel_id)
        wait_until(lambda: confirmed(cloud, lock, 4), what="the returning hub's report")
        state = sim.hubs[hub.channel_id].devices[lock]
    assert (state.version, state.pins) == (4, {})
    assert cloud.reported[lock].pins == ()


def test_broker_restart_keeps_the_gateway_session_and_the_reports_queued_for_it(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    with running_gateway(gateway_new(mosquitto, cloud, client_id="msc-gateway-restart")):
        pass  # the gateway's persistent session and subscriptions now exist; the gateway is away
    with running_simulator(simulator_new(mosquitto, hubs)) as sim:
        for hub in hubs:
            cloud.change(device=lock_of(hub), pins=[("p1", "9753")])
        wait_until(
            lambda: all(sim.hubs[h.channel_id].devices[lock_of(h)].version == 1 for h in hubs),
            what="every lock applying its PIN",
        )
        time.sleep(0.3)  # the reports reach the broker, queued for the absent gateway
        mosquitto.stop()
        mosquitto.start()
        assert cloud.unconfirmed()  # nobody has read a report yet
        with running_gateway(gateway_new(mosquitto, cloud, client_id="msc-gateway-restart")):
            wait_until(lambda: not cloud.unconfirmed(), timeout=20, what="every report, after the restart")
    assert all(cloud.reported[lock_of(h)].version == 1 for h in hubs)


def test_hubs_reconnect_after_a_broker_restart_and_catch_up_on_changes_made_meanwhile(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    with (
        running_gateway(gateway_new(mosquitto, cloud)) as gateway,
        running_simulator(simulator_new(mosquitto, hubs)) as sim,
    ):
        wait_until(lambda: not cloud.unconfirmed(), what="the first round of gets")
        mosquitto.stop()
        for hub in hubs:  # kept while the broker is down (the sync services keep them in the database)
            cloud.change(device=lock_of(hub), pins=[("p1", "8642")], publish=False)
        mosquitto.start()
        wait_until(lambda: not cloud.unconfirmed(), timeout=40, what="every hub's get and report")
        states = [sim.hubs[h.channel_id].devices[lock_of(h)].pins for h in hubs]
    assert states == [{"p1": "8642"}] * 3
    assert gateway.counts["handled"] > 0


def test_gateway_killed_mid_report_loses_nothing(mosquitto, hubs, tmp_path):
    from tests.integration.device_channel import gateway_process

    log = tmp_path / "handled.log"
    log.touch()
    first = gateway_process(mosquitto, client_id="msc-gateway-kill", log=log)
    hub = hubs[0]
    try:
        broker_log = mosquitto.folder / "mosquitto.log"
        wait_until(
            lambda: "Received SUBSCRIBE from msc-gateway-kill" in broker_log.read_text(),
            timeout=20,
            what="the child gateway's subscription",
        )
        time.sleep(0.2)  # the SUBACK on its way
        with Listener(mosquitto.address(), username=hub.channel_id, password=hub.password) as device:
            for version in range(1, 11):
                reason = device.publish(
                    protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind="reported"),
                    reported_payload(hub.channel_id, lock_of(hub), version),
                )
                assert not reason.is_failure
        wait_until(lambda: len(log.read_text().splitlines()) >= 2, what="the first reports handled")
        first.kill()  # SIGKILL, mid-report: the pause in its handler
        first.wait()
        handled_before = len(log.read_text().splitlines())
        assert handled_before < 10
        second = gateway_process(mosquitto, client_id="msc-gateway-kill", log=log)
        try:
            wanted = {f"{hub.channel_id} {lock_of(hub)} {v}" for v in range(1, 11)}
            wait_until(
                lambda: wanted <= set(log.read_text().splitlines()), timeout=20, what="every report, after the restart"
            )
        finally:
            second.terminate()
            second.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()


def test_reports_naming_another_hub_or_its_device_are_refused(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    a, b = hubs[0], hubs[1]
    with running_gateway(gateway_new(mosquitto, cloud)) as gateway:
        with Listener(mosquitto.address(), username=a.channel_id, password=a.password) as hub_a:
            own_topic = protocol.topic(prefix=PREFIX, channel_id=a.channel_id, kind="reported")
            hub_a.publish(own_topic, reported_payload(b.channel_id, lock_of(b), 7))  # claims to be B
            hub_a.publish(own_topic, reported_payload(a.channel_id, lock_of(b), 7))  # B's lock, on A's channel
            hub_a.publish(own_topic, b"not json")
            hub_a.publish(own_topic, reported_payload(a.channel_id, lock_of(a), 1))
        wait_until(lambda: sum(gateway.counts.values()) == 4, what="the four messages")
    # The forged hub is refused by the gateway itself; B's lock on A's channel by the records.
    assert gateway.counts == {"refused": 2, "malformed": 1, "handled": 1}
    assert cloud.outcomes["refused"] == 1
    assert lock_of(b) not in cloud.reported
    assert cloud.reported[lock_of(a)].version == 1


def test_two_gateways_share_the_reports_each_handled_once(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    seen: list[tuple[str, int]] = []

    def record(*, channel_id, report):
        seen.extend((channel_id, d.version) for d in report.devices)

    hub = hubs[0]
    with (
        running_gateway(gateway_new(mosquitto, cloud, client_id="msc-gateway-1", on_report=record)) as one,
        running_gateway(gateway_new(mosquitto, cloud, client_id="msc-gateway-2", on_report=record)) as two,
    ):
        with Listener(mosquitto.address(), username=hub.channel_id, password=hub.password) as device:
            for version in range(1, 21):
                device.publish(
                    protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind="reported"),
                    reported_payload(hub.channel_id, lock_of(hub), version),
                )
        wait_until(lambda: len(seen) >= 20, what="20 reports")
        time.sleep(0.3)
    assert sorted(v for _, v in seen) == list(range(1, 21))
    assert one.counts["handled"] > 0 and two.counts["handled"] > 0


def test_a_failing_handler_leaves_the_report_unacknowledged_and_it_comes_again(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    calls: list[int] = []

    def flaky(*, channel_id, report):
        calls.append(report.devices[0].version)
        if len(calls) <= 4:  # the database away through one delivery's three attempts, and more
            raise ConnectionError("database unavailable")
        cloud.report_record(channel_id=channel_id, report=report)

    hub = hubs[0]
    gateway = gateway_new(mosquitto, cloud, on_report=flaky, handler_retry_seconds=0.05)
    with running_gateway(gateway):
        with Listener(mosquitto.address(), username=hub.channel_id, password=hub.password) as device:
            device.publish(
                protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind="reported"),
                reported_payload(hub.channel_id, lock_of(hub), 3),
            )
        wait_until(lambda: confirmed(cloud, lock_of(hub), 3), timeout=15, what="the redelivered report")
    assert gateway.counts["failed"] == 1 and gateway.counts["handled"] == 1
    assert calls == [3] * 5


def test_dropped_and_delayed_messages_converge_once_the_hub_asks_again(mosquitto, hubs):
    cloud = cloud_new(mosquitto, hubs)
    hub = hubs[2]
    lock = lock_of(hub)
    sim = simulator_new(mosquitto, hubs, drop=0.5, delay=0.2, report_drop=0.3, report_duplicate=0.3, seed=7)
    with running_gateway(gateway_new(mosquitto, cloud)), running_simulator(sim):
        for n in range(1, 7):
            cloud.change(device=lock, pins=[(f"p{n}", f"{6000 + n}")])
        simulated = sim.hubs[hub.channel_id]
        for _ in range(30):  # what a hub does when it misses a change: ask for the whole state
            if confirmed(cloud, lock, 6):
                break
            simulated.state_request()
            time.sleep(0.5)
        state = simulated.devices[lock]
        counts = simulated.counts
    assert counts["dropped"] > 0 and counts["report_dropped"] > 0  # the knobs did lose messages both ways
    assert (state.version, state.pins) == (6, {"p6": "6006"})
    assert confirmed(cloud, lock, 6)
