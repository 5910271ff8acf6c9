"""Fixtures of the smarthome tests: a signed-in resident with a profile (the wizard is elsewhere)."""

from __future__ import annotations

import pytest

from tests.factories import ProfileFactory, ResidentFactory


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
