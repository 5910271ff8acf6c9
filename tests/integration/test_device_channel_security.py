"""The broker confines every hub to its own topics (issue 15: "hub A cannot read hub B's commands").

A Mosquitto of the test's own runs with the password file and ACL that
`smarthome.sync.broker` writes (what `manage.py device_broker_credentials` puts on disk).
"""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from smarthome.sync import broker, protocol
from tests.integration.device_channel import (
    GATEWAY_PASSWORD,
    PREFIX,
    SECRET,
    Listener,
    Mosquitto,
    cloud_new,
    reported_payload,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def hubs():
    return broker.provisioning_new(hubs=2, locks_per_hub=1, secret=SECRET)


@pytest.fixture
def mosquitto(tmp_path, hubs):
    server = Mosquitto(
        tmp_path / "broker",
        hubs=hubs,
        extra_users={"monitor": "monitor-test-password"},
        extra_acl="\nuser monitor\ntopic read #\n",
    )
    server.start()
    yield server
    server.stop()


def topic(hub, kind):
    return protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind=kind)


def test_our_password_file_admits_each_hub_with_its_own_password_only(mosquitto, hubs):
    a, b = hubs
    address = mosquitto.address()
    with Listener(address, username=a.channel_id, password=a.password) as good:
        assert not good.refused
    with Listener(address, username=a.channel_id, password=b.password) as wrong:
        assert wrong.refused
    with Listener(address, username=broker.GATEWAY_USERNAME, password=GATEWAY_PASSWORD) as gateway:
        assert not gateway.refused
    with Listener(address, username="nobody-at-all", password="guess") as stranger:
        assert stranger.refused


def test_hub_a_never_receives_hub_b_desired_state(mosquitto, hubs):
    a, b = hubs
    cloud = cloud_new(mosquitto, hubs)
    address = mosquitto.address()
    with (
        Listener(address, username=a.channel_id, password=a.password) as spy,
        Listener(address, username=b.channel_id, password=b.password) as owner,
    ):
        spy.subscribe(topic(b, "desired"))
        spy.subscribe(f"{PREFIX}/hubs/+/desired")
        spy.subscribe("#")
        owner.subscribe(topic(b, "desired"))
        cloud.change(device=b.devices[1].channel_id, pins=[("p1", "4821")])
        wait_until(lambda: owner.messages, what="hub B's desired message")
        time.sleep(0.3)
    assert [t for t, _ in owner.messages] == [topic(b, "desired")]
    assert spy.messages == []


def test_hub_a_cannot_publish_on_hub_b_topics_nor_write_desired_state(mosquitto, hubs):
    a, b = hubs
    address = mosquitto.address()
    with (
        Listener(address) as gateway_rights,
        Listener(address, username=a.channel_id, password=a.password) as forger,
    ):
        gateway_rights.subscribe(f"{PREFIX}/hubs/+/reported")
        gateway_rights.subscribe(f"{PREFIX}/hubs/+/get")
        gateway_rights.subscribe(f"{PREFIX}/hubs/+/desired")  # writes desired, never reads it
        forged = reported_payload(b.channel_id, b.devices[1].channel_id, 99)
        denied = [
            forger.publish(topic(b, "reported"), forged),
            forger.publish(topic(b, "get"), protocol.get_encode(hub=b.channel_id)),
            forger.publish(topic(b, "desired"), b"{}"),
            forger.publish(topic(a, "desired"), b"{}"),
        ]
        own = forger.publish(topic(a, "reported"), reported_payload(a.channel_id, a.devices[1].channel_id, 1))
        time.sleep(0.3)
    assert all(reason.is_failure for reason in denied), [r.getName() for r in denied]
    assert not own.is_failure
    assert [t for t, _ in gateway_rights.messages] == [topic(a, "reported")]


def test_subscribers_on_hash_see_only_sealed_pins(mosquitto, hubs):
    a, b = hubs
    cloud = cloud_new(mosquitto, hubs)
    lock = b.devices[1]
    address = mosquitto.address()
    with (
        Listener(address) as gateway_rights,
        Listener(address, username="monitor", password="monitor-test-password") as reads_all,
    ):
        gateway_rights.subscribe("#")
        reads_all.subscribe("#")
        cloud.change(device=lock.channel_id, pins=[("p1", "4821"), ("p2", "907153")])
        wait_until(lambda: reads_all.messages, what="the desired message seen on #")
        time.sleep(0.3)
    assert gateway_rights.messages == []  # the gateway's rights never read a desired topic
    ((name, payload),) = reads_all.messages
    assert name == topic(b, "desired")
    assert b"4821" not in payload and b"907153" not in payload
    message = protocol.desired_decode(payload)
    sealed = [p.sealed for d in message.devices for p in d.pins]
    assert [protocol.pin_open(key=lock.key.encode(), sealed=s) for s in sealed] == ["4821", "907153"]
    with pytest.raises(protocol.ProtocolError):
        protocol.pin_open(key=a.devices[1].key.encode(), sealed=sealed[0])


def test_credentials_command_writes_files_the_real_broker_enforces(tmp_path, settings):
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.SMARTHOME_MQTT_URL = f"mqtt://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:1883"
    settings.SMARTHOME_DEVICE_KEY_SECRET = SECRET
    provisioning = tmp_path / "hubs.json"
    call_command(
        "device_broker_credentials",
        "--new-hubs",
        "2",
        "--provisioning",
        str(provisioning),
        "--password-file",
        str(folder / "passwd"),
        "--acl-file",
        str(folder / "acl"),
        stdout=StringIO(),
    )
    hubs = broker.provisioning_load(provisioning.read_text())
    assert (
        hubs[0].devices[1].key == protocol.device_key(secret=SECRET, channel_id=hubs[0].devices[1].channel_id).decode()
    )
    assert oct(provisioning.stat().st_mode & 0o777) == "0o600"
    server = Mosquitto(folder, hubs=hubs, files_ready=True)
    server.start()
    try:
        a, b = hubs
        with Listener(server.address(), username=a.channel_id, password=a.password) as hub_a:
            assert not hub_a.refused
            assert not hub_a.publish(topic(a, "get"), protocol.get_encode(hub=a.channel_id)).is_failure
            assert hub_a.publish(topic(b, "get"), protocol.get_encode(hub=b.channel_id)).is_failure
        with Listener(server.address(), username=b.channel_id, password=a.password) as wrong:
            assert wrong.refused
    finally:
        server.stop()


def test_credentials_command_refuses_to_replace_a_provisioning_file(tmp_path, settings):
    settings.SMARTHOME_MQTT_URL = f"mqtt://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:1883"
    provisioning = tmp_path / "hubs.json"
    provisioning.write_text("kept")
    with pytest.raises(CommandError, match="refusing to replace"):
        call_command(
            "device_broker_credentials",
            "--new-hubs",
            "1",
            "--provisioning",
            str(provisioning),
            "--password-file",
            str(tmp_path / "p"),
            "--acl-file",
            str(tmp_path / "a"),
        )
    assert provisioning.read_text() == "kept"
