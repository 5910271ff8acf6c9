"""Helpers of the device-channel tests: a memory transport, and a hub that answers by hand."""

from __future__ import annotations

import pytest

from smarthome.sync import protocol
from smarthome.sync.backends import memory, simulated

MEMORY = "smarthome.sync.backends.memory.Transport"
SIMULATED = "smarthome.sync.backends.simulated.Transport"


def last_desired(channel_id: str) -> protocol.Desired:
    payload = next(m.payload for m in reversed(memory.outbox) if m.channel_id == channel_id)
    return protocol.desired_decode(payload)


def hub_answers_last(channel_id: str) -> protocol.Reported:
    """The channel's hub receives the last message published to it and reports (as the simulator)."""
    payload = next(m.payload for m in reversed(memory.outbox) if m.channel_id == channel_id)
    return simulated.hub_answer(channel_id=channel_id, payload=payload.decode())


def report_of(channel_id: str, *devices: protocol.ReportedDevice) -> protocol.Reported:
    return protocol.reported_decode(protocol.reported_encode(protocol.Reported(hub=channel_id, devices=devices)))


def set_items(*refs: str) -> tuple[protocol.ReportedItem, ...]:
    return tuple(protocol.ReportedItem(ref=ref, status="set") for ref in refs)


def hub_answers_now(channel_id: str) -> protocol.Reported:
    """The channel's hub receives its current whole desired state (what the next publish carries) and reports."""
    from smarthome.sync.services import desired_message

    payload = protocol.desired_encode(desired_message(channel_id=channel_id))
    return simulated.hub_answer(channel_id=channel_id, payload=payload.decode())


@pytest.fixture
def memory_transport(settings):
    """Publishing records the messages (memory.outbox); nothing answers unless a test does."""
    settings.SMARTHOME_DEVICE_TRANSPORT_BACKEND = MEMORY
    memory.outbox.clear()
    memory.state["unavailable"] = False
    yield memory
    memory.outbox.clear()
    memory.state["unavailable"] = False
