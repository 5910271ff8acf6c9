"""The embedded default (`make run`, unit and browser tests): an in-process hub that answers.

It applies a desired message as a real hub and lock would — a device takes a version only if it
is newer than the one it holds, a lock has a limited number of PIN slots, a PIN it cannot open
with its own key is rejected — keeps what each device holds in the cache (shared by the
processes of `runserver` and by workers), and reports back through `report_record` after
SMARTHOME_DEVICE_SIMULATED_ANSWER_SECONDS: on a worker as a task with that countdown; with
tasks run eagerly (`make run`) on a timer thread, so a resident sees 反映中 turn into 反映済み;
at 0 (the tests) at once.
"""

from __future__ import annotations

import threading

from django.core.cache import cache

from smarthome.app_settings import app_settings

from .. import protocol
from . import base

CACHE_PREFIX = "smarthome:simulated-hub"


def hub_offline_set(*, channel_id: str, offline: bool) -> None:
    """Take a simulated hub off the network (publishing to it fails as to a hub that is gone) or back."""
    key = f"{CACHE_PREFIX}:offline:{channel_id}"
    if offline:
        cache.set(key, True, timeout=None)
    else:
        cache.delete(key)


class Transport(base.Transport):
    def publish(self, *, channel_id: str, payload: bytes) -> None:
        from celery import current_app

        if cache.get(f"{CACHE_PREFIX}:offline:{channel_id}"):
            raise base.TransportUnavailable(f"simulated hub {channel_id} is offline")

        from smarthome.tasks import simulated_hub_answer

        delay = float(app_settings.DEVICE_SIMULATED_ANSWER_SECONDS)
        text = payload.decode()
        if delay <= 0:
            hub_answer(channel_id=channel_id, payload=text)
        elif current_app.conf.task_always_eager:
            threading.Timer(delay, _answer_in_thread, kwargs={"channel_id": channel_id, "payload": text}).start()
        else:
            try:
                simulated_hub_answer.apply_async(args=[channel_id, text], countdown=delay)
            except Exception as exc:  # the broker the simulated hub is reached through is down
                raise base.TransportUnavailable(type(exc).__name__) from exc


def _answer_in_thread(*, channel_id: str, payload: str) -> None:
    from django.db import connection

    try:
        hub_answer(channel_id=channel_id, payload=payload)
    finally:
        connection.close()


def lock_slots() -> int:
    return int(app_settings.DEVICE_SIMULATED_LOCK_SLOTS or app_settings.PINS_PER_LOCK)


def device_apply(*, desired: protocol.DesiredDevice, held: dict) -> dict:
    """What a device holds after `desired`: unchanged unless its version is newer (as a lock)."""
    if desired.version <= held["version"]:
        return held
    from smarthome.sync.services import device_key_for

    key = device_key_for(channel_id=desired.device)
    pins, taken = [], 0
    for pin in desired.pins:
        try:
            protocol.pin_open(key=key, sealed=pin.sealed)
        except protocol.ProtocolError:
            pins.append({"ref": pin.ref, "status": "failed", "reason": "rejected"})
            continue
        if taken >= lock_slots():
            pins.append({"ref": pin.ref, "status": "failed", "reason": "lock_full"})
            continue
        taken += 1
        pins.append({"ref": pin.ref, "status": "set"})
    remotes = [{"ref": remote.ref, "status": "set"} for remote in desired.remotes]
    return {"version": desired.version, "pins": pins, "remotes": remotes}


def _items(raw: list[dict]) -> tuple[protocol.ReportedItem, ...]:
    return tuple(protocol.ReportedItem(ref=i["ref"], status=i["status"], reason=i.get("reason", "")) for i in raw)


def hub_answer(*, channel_id: str, payload: str) -> protocol.Reported:
    """Apply a desired message on the simulated hub, then report through the wire format."""
    from smarthome.sync.services import report_record

    desired = protocol.desired_decode(payload.encode())
    devices = []
    for entry in desired.devices:
        key = f"{CACHE_PREFIX}:{channel_id}:{entry.device}"
        held = device_apply(desired=entry, held=cache.get(key) or {"version": 0, "pins": [], "remotes": []})
        cache.set(key, held, timeout=None)
        devices.append(
            protocol.ReportedDevice(
                device=entry.device,
                version=held["version"],
                pins=_items(held["pins"]),
                remotes=_items(held["remotes"]),
                slots_total=lock_slots() if entry.pins or held["pins"] else None,
            )
        )
    report = protocol.reported_decode(
        protocol.reported_encode(protocol.Reported(hub=channel_id, devices=tuple(devices)))
    )
    report_record(channel_id=channel_id, report=report)
    return report
