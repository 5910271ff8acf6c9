"""Fixtures of the smarthome tests: a signed-in resident with a profile (the wizard is elsewhere)."""

from __future__ import annotations

import pytest

from smarthome.sync.backends import memory
from tests.factories import ProfileFactory, ResidentFactory
from tests.smarthome.sync_helpers import MEMORY


@pytest.fixture
def resident(db):
    user = ResidentFactory()
    ProfileFactory(user=user)
    return user


@pytest.fixture
def other_resident(db):
    user = ResidentFactory()
    ProfileFactory(user=user)
    return user


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident)
    return client


@pytest.fixture
def memory_transport(settings):
    """Publishing records the messages (memory.outbox); nothing answers unless a test does."""
    settings.SMARTHOME_DEVICE_TRANSPORT_BACKEND = MEMORY
    memory.outbox.clear()
    memory.state["unavailable"] = False
    yield memory
    memory.outbox.clear()
    memory.state["unavailable"] = False
