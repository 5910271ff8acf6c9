"""The wire format (smarthome/sync/protocol.py) and the lock rules every hub follows (the simulator's)."""

from __future__ import annotations

import json

import pytest

from smarthome.sync import protocol
from smarthome.sync.broker import DeviceProvision
from smarthome.sync.simulator import DeviceState, Faults, device_apply

PREFIX = "msc/v1"
HUB = "hub-0000001"
LOCK = "lock-000001"
SECRET = "test-only-device-key-secret"
LOCK_KEY = protocol.device_key(secret=SECRET, channel_id=LOCK)


# Topics
# ------------------------------------------------------------------------------


def test_topic_and_parse_round_trip_for_every_kind():
    for kind in protocol.TOPIC_KINDS:
        name = protocol.topic(prefix=PREFIX, channel_id=HUB, kind=kind)
        assert name == f"msc/v1/hubs/{HUB}/{kind}"
        assert protocol.topic_parse(prefix=PREFIX, name=name) == (HUB, kind)


@pytest.mark.parametrize("channel", ["short", "a/b/c/d/e/f", "hub+wild00", "hub#wild00", "x" * 65, "ハブハブハブハブ"])
def test_a_channel_id_that_could_escape_its_topic_is_refused(channel):
    with pytest.raises(protocol.ProtocolError):
        protocol.topic(prefix=PREFIX, channel_id=channel, kind="desired")


@pytest.mark.parametrize(
    "name",
    [
        "other/v1/hubs/hub-0000001/reported",
        "msc/v1/hubs/hub-0000001/state",
        "msc/v1/hubs/x/reported",
        "msc/v1/hubs/hub-0000001/reported/extra",
    ],
)
def test_a_topic_outside_the_protocol_is_refused(name):
    with pytest.raises(protocol.ProtocolError):
        protocol.topic_parse(prefix=PREFIX, name=name)


def test_gateway_subscription_is_shared_when_grouped():
    assert protocol.subscription(prefix=PREFIX, kind="reported") == "msc/v1/hubs/+/reported"
    assert protocol.subscription(prefix=PREFIX, kind="get", share_group="msc-gateway") == (
        "$share/msc-gateway/msc/v1/hubs/+/get"
    )


# Keys and sealed PINs
# ------------------------------------------------------------------------------


def test_device_keys_differ_per_device_and_per_secret_and_are_stable():
    assert protocol.device_key(secret=SECRET, channel_id=LOCK) == LOCK_KEY
    assert protocol.device_key(secret=SECRET, channel_id="lock-000002") != LOCK_KEY
    assert protocol.device_key(secret="another-secret", channel_id=LOCK) != LOCK_KEY


def test_a_sealed_pin_opens_only_with_its_device_key():
    sealed = protocol.pin_seal(key=LOCK_KEY, pin="482913")
    assert "482913" not in sealed
    assert protocol.pin_open(key=LOCK_KEY, sealed=sealed) == "482913"
    with pytest.raises(protocol.ProtocolError):
        protocol.pin_open(key=protocol.device_key(secret=SECRET, channel_id="lock-000002"), sealed=sealed)
    with pytest.raises(protocol.ProtocolError):
        protocol.pin_open(key=LOCK_KEY, sealed="garbage")


# Payloads
# ------------------------------------------------------------------------------


def desired(version=3, pins=(), remotes=()):
    return protocol.Desired(
        hub=HUB,
        devices=(protocol.DesiredDevice(LOCK, version, tuple(pins), tuple(remotes)),),
        sent_at="2026-12-01T00:00:00.000+00:00",
    )


def test_desired_round_trip_keeps_every_field_and_never_a_clear_pin():
    pin = protocol.DesiredPin("p7", protocol.pin_seal(key=LOCK_KEY, pin="4821"), "2026-12-01T00:00:00+00:00", None)
    remote = protocol.DesiredRemote("r3", "リビングのエアコン", "air_conditioner", "Daikin", "AA55")
    message = desired(pins=[pin], remotes=[remote])
    payload = protocol.desired_encode(message)
    assert b"4821" not in payload
    assert protocol.desired_decode(payload) == message


def test_reported_round_trip_with_failures_and_slots():
    report = protocol.Reported(
        hub=HUB,
        devices=(
            protocol.ReportedDevice(
                LOCK,
                4,
                pins=(protocol.ReportedItem("p1", "set"), protocol.ReportedItem("p2", "failed", "lock_full")),
                slots_total=20,
            ),
        ),
    )
    assert protocol.reported_decode(protocol.reported_encode(report)) == report


def test_get_round_trip_names_the_hub():
    assert protocol.get_decode(protocol.get_encode(hub=HUB)) == HUB


def report_doc(**device):
    return {"v": 1, "type": "reported", "hub": HUB, "devices": [{"device": LOCK, "version": 1, **device}]}


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"v": 2, "type": "reported", "hub": HUB, "devices": []}).encode(),
        json.dumps({"v": 1, "type": "desired", "hub": HUB, "devices": []}).encode(),
        json.dumps({"v": 1, "type": "reported", "hub": "bad hub", "devices": []}).encode(),
        json.dumps({"v": 1, "type": "reported", "hub": HUB, "devices": {}}).encode(),
        json.dumps(report_doc(version=-1)).encode(),
        json.dumps(report_doc(version=True)).encode(),
        json.dumps(report_doc(version="3")).encode(),
        json.dumps(report_doc(device="x")).encode(),
        json.dumps(report_doc(pins=[{"ref": "p1", "status": "failed"}])).encode(),
        json.dumps(report_doc(pins=[{"ref": "p1", "status": "failed", "reason": "because"}])).encode(),
        json.dumps(report_doc(pins=[{"ref": "p1", "status": "maybe"}])).encode(),
        json.dumps(report_doc(pins=[{"status": "set"}])).encode(),
        json.dumps(report_doc(pins="p1")).encode(),
        json.dumps(report_doc(slots_total=-2)).encode(),
        b" " * (protocol.MAX_PAYLOAD_BYTES + 1),
    ],
)
def test_a_malformed_report_is_a_protocol_error_never_a_crash(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.reported_decode(payload)


def test_a_malformed_desired_message_is_a_protocol_error():
    doc = json.loads(protocol.desired_encode(desired()))
    del doc["devices"][0]["pins"]
    with pytest.raises(protocol.ProtocolError):
        protocol.desired_decode(json.dumps(doc).encode())


# The lock rules (smarthome.sync.simulator.device_apply)
# ------------------------------------------------------------------------------


def lock_state(slots=3, kind="smart_lock", channel=LOCK, key=LOCK_KEY):
    return DeviceState(provision=DeviceProvision(channel_id=channel, key=key.decode(), kind=kind, slots=slots))


def sealed(ref, pin, key=LOCK_KEY):
    return protocol.DesiredPin(ref, protocol.pin_seal(key=key, pin=pin))


def device(version, pins=(), remotes=(), channel=LOCK):
    return protocol.DesiredDevice(channel, version, tuple(pins), tuple(remotes))


def test_a_newer_version_is_applied_and_reported():
    state = lock_state()
    assert device_apply(state, device(1, [sealed("p1", "4821")])) is True
    assert state.pins == {"p1": "4821"}
    assert state.reported() == protocol.ReportedDevice(
        LOCK, 1, pins=(protocol.ReportedItem("p1", "set"),), slots_total=3
    )


def test_a_stale_or_duplicated_version_changes_nothing():
    state = lock_state()
    device_apply(state, device(5, [sealed("p5", "5555")]))
    assert device_apply(state, device(5, [sealed("p9", "9999")])) is False
    assert device_apply(state, device(4, [])) is False
    assert (state.version, state.pins) == (5, {"p5": "5555"})


def test_the_desired_state_is_whole_so_a_pin_it_no_longer_lists_is_removed():
    state = lock_state()
    device_apply(state, device(1, [sealed("p1", "1111"), sealed("p2", "2222")]))
    device_apply(state, device(2, [sealed("p2", "2222")]))
    assert state.pins == {"p2": "2222"}
    device_apply(state, device(3, []))
    assert state.pins == {} and state.reported().pins == ()


def test_pins_past_the_lock_slots_fail_with_lock_full():
    state = lock_state(slots=2)
    device_apply(state, device(1, [sealed(f"p{i}", f"{1000 + i}") for i in range(4)]))
    assert [(i.ref, i.status, i.reason) for i in state.pin_items] == [
        ("p0", "set", ""),
        ("p1", "set", ""),
        ("p2", "failed", "lock_full"),
        ("p3", "failed", "lock_full"),
    ]
    assert len(state.pins) == 2


def test_a_pin_sealed_for_another_device_is_rejected_and_not_held():
    other_key = protocol.device_key(secret=SECRET, channel_id="lock-000002")
    state = lock_state()
    device_apply(state, device(1, [sealed("p1", "4821", key=other_key), sealed("p2", "7777")]))
    assert state.pins == {"p2": "7777"}
    assert state.pin_items[0] == protocol.ReportedItem("p1", "failed", "rejected")


def test_a_hub_holds_remotes_and_refuses_pins_and_unknown_appliances():
    state = lock_state(kind="hub", channel=HUB, key=protocol.device_key(secret=SECRET, channel_id=HUB))
    remotes = [protocol.DesiredRemote("r1", "TV", "tv"), protocol.DesiredRemote("r2", "?", "toaster")]
    device_apply(state, device(1, [sealed("p1", "4821")], remotes, channel=HUB))
    assert set(state.remotes) == {"r1"}
    assert state.pin_items == (protocol.ReportedItem("p1", "failed", "unsupported"),)
    assert state.remote_items[1] == protocol.ReportedItem("r2", "failed", "unsupported")
    assert state.reported().slots_total is None


def test_a_lock_refuses_remote_settings():
    state = lock_state()
    device_apply(state, device(1, remotes=[protocol.DesiredRemote("r1", "TV", "tv")]))
    assert state.remotes == {} and state.remote_items == (protocol.ReportedItem("r1", "failed", "unsupported"),)


def test_desired_state_for_another_device_is_a_programming_error():
    with pytest.raises(ValueError, match="another device"):
        device_apply(lock_state(), device(1, channel="lock-000002"))


@pytest.mark.parametrize("knobs", [{"drop": 1.5}, {"duplicate": -0.1}, {"delay": -1}])
def test_fault_knobs_outside_their_range_are_refused(knobs):
    with pytest.raises(ValueError):
        Faults(**knobs)
