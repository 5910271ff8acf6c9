"""Fixtures of the smarthome tests: a signed-in resident with a profile (the wizard is elsewhere)."""

from __future__ import annotations

import pytest

from tests.factories import ProfileFactory, ResidentFactory
from tests.smarthome.sync_helpers import memory_transport  # noqa: F401 (a fixture of every smarthome test)


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
