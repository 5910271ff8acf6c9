"""mqtts://: the transport and the hubs speak TLS to a broker whose certificate they check."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smarthome.sync import broker, protocol
from smarthome.sync.backends import mqtt as mqtt_backend
from smarthome.sync.backends.base import TransportUnavailable
from tests.integration.device_channel import GATEWAY_PASSWORD, PREFIX, SECRET, Listener, Mosquitto, wait_until

pytestmark = pytest.mark.integration


def certificate(subject: str, key, *, issuer=None, issuer_key=None, ca: bool):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def pem_files(folder, name: str):
    """A CA and a server certificate for 127.0.0.1 it signed; returns the three paths."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate(f"{name} test CA", ca_key, ca=True)
    server = certificate("127.0.0.1", server_key, issuer=ca.subject, issuer_key=ca_key, ca=False)
    paths = folder / f"{name}-ca.pem", folder / f"{name}-server.pem", folder / f"{name}-server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_broker(tmp_path):
    hubs = broker.provisioning_new(hubs=1, secret=SECRET)
    files = pem_files(tmp_path, "ours")
    server = Mosquitto(tmp_path / "broker", hubs=hubs, tls=files)
    server.start()
    yield server, hubs[0], files[0], tmp_path
    server.stop()
    mqtt_backend.connection_close()


def test_desired_state_travels_over_tls_to_a_broker_signed_by_our_ca(tls_broker):
    server, hub, ca, _ = tls_broker
    url = f"mqtts://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:{server.port}?ca={ca}"
    hub_address = broker.broker_address(f"mqtts://127.0.0.1:{server.port}?ca={ca}")
    with Listener(hub_address, username=hub.channel_id, password=hub.password) as device:
        assert not device.refused
        device.subscribe(protocol.topic(prefix=PREFIX, channel_id=hub.channel_id, kind="desired"))
        mqtt_backend.Transport(url=url, prefix=PREFIX).publish(channel_id=hub.channel_id, payload=b"sealed-state")
        wait_until(lambda: device.messages, what="the desired message over TLS")
    assert device.messages[0][1] == b"sealed-state"


def test_a_broker_whose_certificate_our_ca_did_not_sign_is_not_trusted(tls_broker):
    server, hub, _, folder = tls_broker
    stranger_ca = pem_files(folder, "stranger")[0]
    url = f"mqtts://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:{server.port}?ca={stranger_ca}"
    with pytest.raises(TransportUnavailable):
        mqtt_backend.Transport(url=url, prefix=PREFIX, timeout=2).publish(channel_id=hub.channel_id, payload=b"x")


def test_plain_mqtt_gets_no_answer_from_a_tls_listener(tls_broker):
    server, hub, _, _ = tls_broker
    url = f"mqtt://{broker.GATEWAY_USERNAME}:{GATEWAY_PASSWORD}@127.0.0.1:{server.port}"
    with pytest.raises(TransportUnavailable):
        mqtt_backend.Transport(url=url, prefix=PREFIX, timeout=2).publish(channel_id=hub.channel_id, payload=b"x")
