"""AnyOf: the same rows as `__in`, one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from myspacecore.core.lookups import AnyOf
from smarthome.models import Device
from tests.smarthome.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_the_rows_in_finds_and_none_for_an_empty_list():
    devices = [DeviceFactory() for _ in range(4)]
    wanted = [devices[0].pk, devices[2].pk, None]
    assert sorted(Device.objects.filter(AnyOf(F("pk"), wanted)).values_list("pk", flat=True)) == sorted(
        Device.objects.filter(pk__in=wanted).values_list("pk", flat=True)
    )
    by_channel = Device.objects.filter(AnyOf(F("channel_id"), [devices[1].channel_id]))
    assert list(by_channel) == [devices[1]]
    assert list(Device.objects.filter(AnyOf(F("pk"), []))) == []
    assert list(Device.objects.filter(AnyOf(F("pk"), [None]))) == []


def test_any_of_sends_one_parameter_on_postgresql():
    ids = [DeviceFactory().pk for _ in range(3)]
    with CaptureQueriesContext(connection) as captured:
        list(Device.objects.filter(AnyOf(F("pk"), ids)))
    [query] = captured.captured_queries
    if connection.vendor == "postgresql":
        assert "= ANY(" in query["sql"] and " IN (" not in query["sql"]
    else:
        assert " IN (" in query["sql"]
