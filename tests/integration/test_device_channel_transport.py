"""The MQTT transport: QoS 1 on the hub's desired topic, back only once the broker acknowledged it."""

from __future__ import annotations

import threading
import time

import pytest

from smarthome.sync import broker, protocol
from smarthome.sync.backends import mqtt as mqtt_backend
from smarthome.sync.backends.base import TransportUnavailable
from tests.integration.device_channel import PREFIX, SECRET, Listener, Mosquitto, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def hubs():
    return broker.provisioning_new(hubs=1, secret=SECRET)


@pytest.fixture
def mosquitto(tmp_path, hubs):
    server = Mosquitto(tmp_path / "broker", hubs=hubs)
    server.start()
    yield server
    server.stop()
    mqtt_backend.connection_close()


def test_publish_reaches_the_hub_desired_topic_with_qos_1(mosquitto, hubs):
    (hub,) = hubs
    transport = mqtt_backend.Transport(url=mosquitto.url(), prefix=PREFIX)
    with Listener(mosquitto.address(), username=hub.channel_id, password=hub.password) as device:
        device.subscribe(protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind="desired"))
        transport.publish(channel_id=hub.channel_id, payload=b"state-1")
        wait_until(lambda: device.messages, what="the desired message")
    assert device.messages == [(f"{PREFIX}/hubs/{hub.channel_id}/desired", b"state-1")]


def test_threads_share_one_connection_per_process(mosquitto, hubs):
    (hub,) = hubs
    transport = mqtt_backend.Transport(url=mosquitto.url(), prefix=PREFIX)
    errors: list[TransportUnavailable] = []

    def send(n):
        try:
            for i in range(20):
                transport.publish(channel_id=hub.channel_id, payload=f"{n}-{i}".encode())
        except TransportUnavailable as exc:  # collected for the assertion below
            errors.append(exc)

    with Listener(mosquitto.address(), username=hub.channel_id, password=hub.password) as device:
        device.subscribe(protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind="desired"))
        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(lambda: len(device.messages) == 80, what="80 messages")
    assert errors == []
    connection = mqtt_backend._shared_connection(transport.address)
    assert mqtt_backend._shared_connection(mqtt_backend.Transport(url=mosquitto.url()).address) is connection


def test_broker_down_raises_unavailable_within_the_timeout_then_recovers(mosquitto, hubs):
    (hub,) = hubs
    transport = mqtt_backend.Transport(url=mosquitto.url(), prefix=PREFIX, timeout=1)
    transport.publish(channel_id=hub.channel_id, payload=b"before")
    mosquitto.stop()
    started = time.monotonic()
    with pytest.raises(TransportUnavailable):
        transport.publish(channel_id=hub.channel_id, payload=b"during")
    assert time.monotonic() - started < 3
    mosquitto.start()
    wait_until(
        lambda: mqtt_backend._shared_connection(transport.address).connected.is_set(),
        timeout=20,
        what="the transport's reconnection",
    )
    transport.publish(channel_id=hub.channel_id, payload=b"after")


def test_refused_credentials_raise_unavailable(mosquitto, hubs):
    transport = mqtt_backend.Transport(url=mosquitto.url(password="wrong-password"), prefix=PREFIX, timeout=1)
    with pytest.raises(TransportUnavailable):
        transport.publish(channel_id=hubs[0].channel_id, payload=b"x")


def test_a_publish_the_acl_denies_raises_unavailable(mosquitto, hubs):
    (hub,) = hubs
    # A hub's own credentials may not write desired state: the broker's PUBACK says so.
    transport = mqtt_backend.Transport(url=mosquitto.url(hub.channel_id, hub.password), prefix=PREFIX, timeout=2)
    with pytest.raises(TransportUnavailable, match="refused"):
        transport.publish(channel_id=hub.channel_id, payload=b"x")
