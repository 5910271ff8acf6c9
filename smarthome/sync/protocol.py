"""The wire format between MySpaceCore and the hubs (docs/device-protocol.md says it in words).

A *channel* is one MQTT client: a hub, or a device that connects by itself (a lock with its
own radio). Its topic id is `Device.channel_id`, an opaque token that is also the channel's
broker username, so the broker's ACL (`broker.acl_file_text`) names each hub by `%u`: it may read
only `<prefix>/hubs/<itself>/desired` and write only its own `reported` and `get`; the gateway
user reads every hub's `reported` and `get` and writes every `desired`.

Topics (`<prefix>` is `SMARTHOME_MQTT_TOPIC_PREFIX`, default `msc/v1`):
- `<prefix>/hubs/<channel>/desired`  we → hub, QoS 1: the whole desired state of every device
  behind the channel (never a diff, so a lost, duplicated or reordered message is repaired by
  the next one).
- `<prefix>/hubs/<channel>/reported` hub → us, QoS 1: what the devices now hold.
- `<prefix>/hubs/<channel>/get`      hub → us, QoS 1: "send me the whole state" (on every
  connect, and again until a desired message comes).

Versions: each device has a desired version that every change bumps. A hub applies a device's
desired state only if its version is newer than what that device last applied, and reports the
version it holds. We record a report only if its version is not older than the last one
recorded, so stale and duplicated reports change nothing.

PINs never travel in clear: each PIN is sealed with Fernet under the device's own key,
derived from `SMARTHOME_DEVICE_KEY_SECRET` and the device's channel id (the hub is
provisioned with that key at installation).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

PROTOCOL_VERSION = 1
DEFAULT_TOPIC_PREFIX = "msc/v1"
CHANNEL_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
TopicKind = Literal["desired", "reported", "get"]
TOPIC_KINDS: tuple[TopicKind, ...] = ("desired", "reported", "get")
# Why a setting did not reach a device, as a hub reports it.
FAILURE_REASONS = ("lock_full", "rejected", "unsupported")
MAX_PAYLOAD_BYTES = 256 * 1024


class ProtocolError(ValueError):
    """A message that does not follow the protocol (logged and dropped, never applied)."""


# Topics
# ------------------------------------------------------------------------------


def topic(*, prefix: str, channel_id: str, kind: TopicKind) -> str:
    if not CHANNEL_ID_RE.match(channel_id):
        raise ProtocolError("bad channel id")
    return f"{prefix}/hubs/{channel_id}/{kind}"


def topic_parse(*, prefix: str, name: str) -> tuple[str, TopicKind]:
    """(channel id, kind) of a topic name, or ProtocolError."""
    head = f"{prefix}/hubs/"
    if not name.startswith(head):
        raise ProtocolError("foreign topic")
    parts = name[len(head) :].split("/")
    if len(parts) != 2 or not CHANNEL_ID_RE.match(parts[0]) or parts[1] not in TOPIC_KINDS:
        raise ProtocolError("bad topic")
    return parts[0], parts[1]


def subscription(*, prefix: str, kind: TopicKind, share_group: str | None = None) -> str:
    """The gateway's filter for every hub's `kind` topic; a shared subscription when grouped."""
    name = f"{prefix}/hubs/+/{kind}"
    return f"$share/{share_group}/{name}" if share_group else name


# Per-device keys and sealed PINs
# ------------------------------------------------------------------------------


def device_key(*, secret: str, channel_id: str) -> bytes:
    """The Fernet key of one device: HMAC-SHA256(secret, channel id), urlsafe base64."""
    digest = hmac.new(secret.encode(), f"msc-device-key:{channel_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


# Fernet is imported by the two functions that use it: the move-out and purge commands import
# this module (smarthome.services → sync.services) and seal no PIN (their publishes are a worker's).


def pin_seal(*, key: bytes, pin: str) -> str:
    from cryptography.fernet import Fernet

    return Fernet(key).encrypt(pin.encode("ascii")).decode("ascii")


def pin_open(*, key: bytes, sealed: str) -> str:
    from cryptography.fernet import Fernet, InvalidToken

    try:
        return Fernet(key).decrypt(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise ProtocolError("PIN not sealed for this device") from exc


# Payloads
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredPin:
    ref: str  # "p<PinCode.pk>"
    sealed: str
    valid_from: str | None = None  # ISO 8601, UTC
    valid_until: str | None = None


@dataclass(frozen=True)
class DesiredRemote:
    ref: str  # "r<RemoteControlSetting.pk>"
    name: str
    appliance: str
    maker: str = ""
    signal: str = ""


@dataclass(frozen=True)
class DesiredDevice:
    device: str  # the device's channel id
    version: int
    pins: tuple[DesiredPin, ...] = ()
    remotes: tuple[DesiredRemote, ...] = ()


@dataclass(frozen=True)
class Desired:
    hub: str
    devices: tuple[DesiredDevice, ...]
    sent_at: str = ""


@dataclass(frozen=True)
class ReportedItem:
    ref: str
    status: Literal["set", "failed"]
    reason: str = ""  # one of FAILURE_REASONS when failed


@dataclass(frozen=True)
class ReportedDevice:
    """What one device holds after applying `version`. A ref it does not list is not on it."""

    device: str
    version: int
    pins: tuple[ReportedItem, ...] = ()
    remotes: tuple[ReportedItem, ...] = ()
    slots_total: int | None = None


@dataclass(frozen=True)
class Reported:
    hub: str
    devices: tuple[ReportedDevice, ...] = field(default_factory=tuple)


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def desired_encode(message: Desired) -> bytes:
    doc = {
        "v": PROTOCOL_VERSION,
        "type": "desired",
        "hub": message.hub,
        "sent_at": message.sent_at or now_iso(),
        "devices": [
            {
                "device": d.device,
                "version": d.version,
                "pins": [
                    {"ref": p.ref, "sealed": p.sealed, "from": p.valid_from, "until": p.valid_until} for p in d.pins
                ],
                "remotes": [
                    {"ref": r.ref, "name": r.name, "appliance": r.appliance, "maker": r.maker, "signal": r.signal}
                    for r in d.remotes
                ],
            }
            for d in message.devices
        ],
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _load(payload: bytes, kind: str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("payload too large")
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("not JSON") from exc
    if not isinstance(doc, dict) or doc.get("v") != PROTOCOL_VERSION or doc.get("type") != kind:
        raise ProtocolError("wrong protocol version or type")
    if not isinstance(doc.get("hub"), str) or not CHANNEL_ID_RE.match(doc["hub"]):
        raise ProtocolError("bad hub")
    if not isinstance(doc.get("devices", []), list):
        raise ProtocolError("bad devices")
    return doc


def _version(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError("bad version")
    return value


def _channel(value: object) -> str:
    if not isinstance(value, str) or not CHANNEL_ID_RE.match(value):
        raise ProtocolError("bad device")
    return value


def desired_decode(payload: bytes) -> Desired:
    """Parse a desired message (the hub side: the simulator and the tests)."""
    doc = _load(payload, "desired")
    try:
        devices = tuple(
            DesiredDevice(
                device=_channel(d["device"]),
                version=_version(d["version"]),
                pins=tuple(DesiredPin(p["ref"], p["sealed"], p.get("from"), p.get("until")) for p in d["pins"]),
                remotes=tuple(
                    DesiredRemote(r["ref"], r["name"], r["appliance"], r.get("maker", ""), r.get("signal", ""))
                    for r in d["remotes"]
                ),
            )
            for d in doc["devices"]
        )
    except (KeyError, TypeError) as exc:
        raise ProtocolError("bad desired device") from exc
    return Desired(hub=doc["hub"], devices=devices, sent_at=str(doc.get("sent_at", "")))


def _items(raw: object) -> tuple[ReportedItem, ...]:
    if not isinstance(raw, list):
        raise ProtocolError("bad items")
    items = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("ref"), str):
            raise ProtocolError("bad item")
        status = item.get("status")
        reason = item.get("reason", "")
        if status not in ("set", "failed") or (status == "failed" and reason not in FAILURE_REASONS):
            raise ProtocolError("bad item status")
        items.append(ReportedItem(ref=item["ref"], status=status, reason=reason if status == "failed" else ""))
    return tuple(items)


def _item_doc(item: ReportedItem) -> dict[str, str]:
    doc = {"ref": item.ref, "status": item.status}
    if item.reason:
        doc["reason"] = item.reason
    return doc


def reported_encode(message: Reported) -> bytes:
    doc = {
        "v": PROTOCOL_VERSION,
        "type": "reported",
        "hub": message.hub,
        "devices": [
            {
                "device": d.device,
                "version": d.version,
                "pins": [_item_doc(i) for i in d.pins],
                "remotes": [_item_doc(i) for i in d.remotes],
                **({"slots_total": d.slots_total} if d.slots_total is not None else {}),
            }
            for d in message.devices
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def reported_decode(payload: bytes) -> Reported:
    """Parse a hub's report; ProtocolError for anything malformed (the gateway logs and drops it)."""
    doc = _load(payload, "reported")
    devices = []
    for d in doc["devices"]:
        if not isinstance(d, dict):
            raise ProtocolError("bad reported device")
        slots = d.get("slots_total")
        if slots is not None:
            _version(slots)
        devices.append(
            ReportedDevice(
                device=_channel(d.get("device")),
                version=_version(d.get("version")),
                pins=_items(d.get("pins", [])),
                remotes=_items(d.get("remotes", [])),
                slots_total=slots,
            )
        )
    return Reported(hub=doc["hub"], devices=tuple(devices))


def get_encode(*, hub: str) -> bytes:
    return json.dumps({"v": PROTOCOL_VERSION, "type": "get", "hub": hub}, separators=(",", ":")).encode()


def get_decode(payload: bytes) -> str:
    """The hub id of a "send me the whole state" request."""
    return str(_load(payload, "get")["hub"])
