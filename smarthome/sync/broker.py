"""The broker as we use it: its address (SMARTHOME_MQTT_URL), a paho client for it, and the
Mosquitto password and ACL files that confine every hub to its own topics.

Each hub's broker username is its channel id (protocol.py), so one ACL `pattern` line with
`%u` covers every hub: it may read `<prefix>/hubs/<itself>/desired` and write its own
`reported` and `get`, nothing else. The gateway user reads every hub's `reported` and `get` and
writes every `desired`. Passwords are stored as Mosquitto 2's `$7$` PBKDF2-SHA512 hashes, the
format `mosquitto_passwd` writes, so the file can be made where Mosquitto is not installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from paho.mqtt.client import Client, MQTTProtocolVersion
from paho.mqtt.enums import CallbackAPIVersion

from . import protocol

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
# Mosquitto 2's own defaults for `$7$` (mosquitto_passwd): 101 rounds, a 12-byte salt.
PASSWORD_ITERATIONS = 101
PASSWORD_SALT_BYTES = 12
GATEWAY_USERNAME = "msc-gateway"


class BrokerUrlError(ValueError):
    """SMARTHOME_MQTT_URL is not an mqtt:// or mqtts:// URL with a host."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # mqtts:// only: the CA bundle to trust instead of the system's

    def __repr__(self) -> str:  # never the password, even in a traceback
        scheme = "mqtts" if self.tls else "mqtt"
        return f"BrokerAddress({scheme}://{self.username + '@' if self.username else ''}{self.host}:{self.port})"


def broker_address(url: str) -> BrokerAddress:
    """Parse `mqtt://[user[:password]@]host[:port]` or `mqtts://…[?ca=/path/to/ca.pem]` (TLS, port
    8883 by default, the broker's certificate checked against the system's CAs or `ca`)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise BrokerUrlError("the broker URL must be mqtt://host[:port] or mqtts://host[:port]")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise BrokerUrlError("the broker URL has a bad port") from exc
    query = parse_qs(parts.query)
    if set(query) - {"ca"} or len(query.get("ca", [])) > 1:
        raise BrokerUrlError("the broker URL takes one query parameter only: ca=<CA bundle path>")
    if query and parts.scheme != "mqtts":
        raise BrokerUrlError("ca= applies to mqtts:// only")
    if query and not os.path.isfile(query["ca"][0]):
        raise BrokerUrlError("the broker URL's CA bundle (ca=) is not a file")
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        ca_file=query["ca"][0] if query else None,
    )


def client_id_new(role: str) -> str:
    """A client id nobody else uses: `<role>-<host>-<pid>-<random>` (a publisher's, a test's)."""
    return f"{role}-{os.uname().nodename[:20]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def mqtt_client(
    *,
    address: BrokerAddress,
    client_id: str,
    manual_ack: bool = False,
    username: str | None = None,
    password: str | None = None,
) -> Client:
    """An MQTT v5 paho client set up for `address` (credentials, TLS with the system's CAs); not connected.

    `username`/`password` override the URL's (the simulator's hubs each have their own).
    """
    client = Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    user = username if username is not None else address.username
    if user is not None:
        client.username_pw_set(user, password if username is not None else address.password)
    if address.tls:
        client.tls_set_context(ssl.create_default_context(cafile=address.ca_file))
    return client


# Mosquitto password file and ACL
# ------------------------------------------------------------------------------


def password_hash(password: str, *, salt: bytes | None = None, iterations: int = PASSWORD_ITERATIONS) -> str:
    """Mosquitto 2's `$7$<rounds>$<salt>$<hash>`: PBKDF2-HMAC-SHA512, 64-byte hash, base64."""
    if not password:
        raise ValueError("a broker password must not be empty")
    salt = salt if salt is not None else os.urandom(PASSWORD_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_file_text(credentials: Iterable[tuple[str, str]]) -> str:
    """The lines `username:$7$…` of a Mosquitto `password_file`, one per (username, password)."""
    lines = []
    seen: set[str] = set()
    for username, password in credentials:
        if not username or ":" in username or "\n" in username:
            raise ValueError("a broker username must be non-empty, without ':' or a line break")
        if username in seen:
            raise ValueError(f"broker username {username!r} appears twice")
        seen.add(username)
        lines.append(f"{username}:{password_hash(password)}\n")
    return "".join(lines)


def acl_file_text(*, prefix: str, gateway_username: str = GATEWAY_USERNAME) -> str:
    """A Mosquitto `acl_file`: every hub only its own topics (by `%u`), the gateway every hub's."""
    hubs = f"{prefix}/hubs"
    return (
        "# MySpaceCore device channel (docs/device-protocol.md). Written by manage.py device_broker_credentials.\n"
        "# The gateway: every hub's reports and requests, and every hub's desired state.\n"
        f"user {gateway_username}\n"
        f"topic read {hubs}/+/reported\n"
        f"topic read {hubs}/+/get\n"
        f"topic write {hubs}/+/desired\n"
        "\n"
        "# Every hub (its username is its channel id): its own topics, nothing else.\n"
        f"pattern read {hubs}/%u/desired\n"
        f"pattern write {hubs}/%u/reported\n"
        f"pattern write {hubs}/%u/get\n"
    )


def hub_username_check(channel_id: str) -> None:
    """A hub's broker username is its channel id: refuse one the topics could not carry."""
    if not protocol.CHANNEL_ID_RE.match(channel_id):
        raise ValueError("a hub's channel id must be 8-64 characters of A-Z a-z 0-9 _ -")


def private_file_write(path: Path, text: str, mode: int) -> None:
    """Write `text` to `path` whole or not at all (a broker reloading never reads half a file)."""
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(partial, path)


# Provisioning: what a hub is handed at installation
# ------------------------------------------------------------------------------
# A JSON file: {"hubs": [{"channel_id", "password", "devices": [{"channel_id", "key", "kind",
# "slots"}]}]}. A hub knows its own credentials and each of its devices' key (derived from
# SMARTHOME_DEVICE_KEY_SECRET by protocol.device_key), never the secret itself.


@dataclass(frozen=True)
class DeviceProvision:
    channel_id: str
    key: str  # the device's Fernet key (urlsafe base64)
    kind: str = "smart_lock"  # smarthome.models.DeviceKind value
    slots: int = 20  # PIN slots of a lock


@dataclass(frozen=True)
class HubProvision:
    channel_id: str
    password: str
    devices: tuple[DeviceProvision, ...]

    def __repr__(self) -> str:  # never the password
        return f"HubProvision({self.channel_id}, {len(self.devices)} devices)"


def provisioning_dump(hubs: Iterable[HubProvision]) -> str:
    doc = {
        "hubs": [
            {
                "channel_id": hub.channel_id,
                "password": hub.password,
                "devices": [
                    {"channel_id": d.channel_id, "key": d.key, "kind": d.kind, "slots": d.slots} for d in hub.devices
                ],
            }
            for hub in hubs
        ]
    }
    return json.dumps(doc, indent=1)


def provisioning_load(text: str) -> list[HubProvision]:
    """Parse a provisioning file; ValueError naming what is wrong (nothing half-loaded)."""
    try:
        doc = json.loads(text)
        hubs = [
            HubProvision(
                channel_id=str(h["channel_id"]),
                password=str(h["password"]),
                devices=tuple(
                    DeviceProvision(
                        str(d["channel_id"]), str(d["key"]), str(d.get("kind", "smart_lock")), int(d.get("slots", 20))
                    )
                    for d in h["devices"]
                ),
            )
            for h in doc["hubs"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a provisioning file: {exc.__class__.__name__} {exc}") from exc
    for hub in hubs:
        hub_username_check(hub.channel_id)
        for device in hub.devices:
            hub_username_check(device.channel_id)
            if device.slots < 1:
                raise ValueError(f"device {device.channel_id}: slots must be positive")
    return hubs


def provisioning_new(*, hubs: int, locks_per_hub: int = 1, secret: str, slots: int = 20) -> list[HubProvision]:
    """`hubs` new hubs with random channel ids and passwords, each with itself (its remotes) and
    `locks_per_hub` smart locks, device keys derived from `secret` as our side derives them."""

    def device(channel_id: str, kind: str) -> DeviceProvision:
        key = protocol.device_key(secret=secret, channel_id=channel_id).decode()
        return DeviceProvision(channel_id=channel_id, key=key, kind=kind, slots=slots)

    made = []
    for _ in range(hubs):
        hub_id = secrets.token_urlsafe(16)
        locks = [device(secrets.token_urlsafe(16), "smart_lock") for _ in range(locks_per_hub)]
        made.append(HubProvision(hub_id, secrets.token_urlsafe(24), (device(hub_id, "hub"), *locks)))
    return made
