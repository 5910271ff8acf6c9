"""Move-out (SPEC "Move-out"): units whose lease ended are reset once, by beat and by the command."""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from myspacecore.celery import app
from myspacecore.tenancy.models import Unit
from smarthome import services
from smarthome.models import PinCode, RemoteControlSetting
from smarthome.services import leases_ended_reset, units_awaiting_reset
from smarthome.tasks import leases_ended_reset_run
from tests.factories import LeaseFactory, UnitFactory
from tests.smarthome.factories import (
    PinCodeFactory,
    RemoteControlSettingFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
TOKYO = ZoneInfo("Asia/Tokyo")


def furnished_unit(**kwargs):
    unit = UnitFactory(**kwargs)
    RemoteControlSettingFactory.create_batch(2, device=UnitDeviceFactory(unit=unit))
    PinCodeFactory(device=UnitSmartLockFactory(unit=unit))
    return unit


def settings_of(unit) -> int:
    return (
        RemoteControlSetting.objects.filter(device__unit=unit).count()
        + PinCode.objects.filter(device__unit=unit).count()
    )


@pytest.mark.parametrize(
    ("start", "end", "reset"),
    [
        pytest.param(10, 400, False, id="future"),
        pytest.param(-10, 400, False, id="current"),
        pytest.param(-10, None, False, id="current, open-ended"),
        pytest.param(-400, -1, True, id="past"),
    ],
)
def test_lease_rule_for_each_lease_state(start, end, reset):
    today = timezone.localdate()
    unit = furnished_unit()
    LeaseFactory(unit=unit, start_date=today + start * DAY, end_date=today + end * DAY if end is not None else None)
    result = leases_ended_reset()
    assert result.processed == (1 if reset else 0)
    assert settings_of(unit) == (0 if reset else 3)


def test_ended_lease_with_a_current_successor_is_not_reset():
    today = timezone.localdate()
    unit = furnished_unit()
    LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 10 * DAY)
    LeaseFactory(unit=unit, start_date=today - 9 * DAY)
    assert leases_ended_reset().processed == 0
    assert settings_of(unit) == 3


def test_vacant_unit_between_tenants_is_reset_even_with_a_future_lease():
    today = timezone.localdate()
    unit = furnished_unit()
    LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 10 * DAY)
    LeaseFactory(unit=unit, start_date=today + 10 * DAY)
    assert leases_ended_reset().processed == 1
    assert settings_of(unit) == 0


def test_lease_ending_today_is_reset_the_day_after_and_only_once():
    unit = furnished_unit()
    with time_machine.travel(datetime.datetime(2026, 3, 31, 23, 0, tzinfo=TOKYO), tick=False):
        LeaseFactory(unit=unit, start_date=datetime.date(2025, 4, 1), end_date=datetime.date(2026, 3, 31))
        assert leases_ended_reset().processed == 0, "in force through its last day"
    with time_machine.travel(datetime.datetime(2026, 4, 1, 3, 0, tzinfo=TOKYO), tick=False):
        assert leases_ended_reset().processed == 1
        assert settings_of(unit) == 0
        # Settings the operator prepares for the next tenant after the reset stay.
        RemoteControlSettingFactory(device=unit.devices.first())
    with time_machine.travel(datetime.datetime(2026, 4, 2, 3, 0, tzinfo=TOKYO), tick=False):
        assert leases_ended_reset().processed == 0
        assert settings_of(unit) == 1


def test_reset_made_on_the_last_day_of_the_lease_does_not_count():
    unit = furnished_unit()
    with time_machine.travel(datetime.datetime(2026, 3, 31, 10, 0, tzinfo=TOKYO), tick=False):
        LeaseFactory(unit=unit, start_date=datetime.date(2025, 4, 1), end_date=datetime.date(2026, 3, 31))
        services.unit_settings_reset(unit=unit)
        # The tenant still lives there until midnight and adds a PIN.
        PinCodeFactory(device=unit.devices.get(kind="smart_lock"))
    with time_machine.travel(datetime.datetime(2026, 4, 1, 3, 0, tzinfo=TOKYO), tick=False):
        assert list(units_awaiting_reset()) == [unit]
        assert leases_ended_reset().processed == 1
    assert settings_of(unit) == 0


def test_dry_run_counts_and_changes_nothing():
    today = timezone.localdate()
    units = [furnished_unit() for _ in range(3)]
    for unit in units:
        LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 1 * DAY)
    out = io.StringIO()
    call_command("cleanup_move_out", "--dry-run", stdout=out)
    assert out.getvalue() == "cleanup_move_out: dry run, 3 units would be processed\n"
    assert all(settings_of(unit) == 3 for unit in units)
    assert not Unit.objects.filter(last_reset_at__isnull=False).exists()


def test_command_resets_in_batches_and_a_rerun_finds_nothing(django_assert_max_num_queries):
    today = timezone.localdate()
    units = [furnished_unit() for _ in range(5)]
    for unit in units:
        LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 1 * DAY)
    out = io.StringIO()
    call_command("cleanup_move_out", "--batch-size", "2", stdout=out)
    assert out.getvalue() == "cleanup_move_out: 5 units processed in 3 batches, 0 failed\n"
    assert all(settings_of(unit) == 0 for unit in units)

    out = io.StringIO()
    with django_assert_max_num_queries(4):
        call_command("cleanup_move_out", stdout=out)
    assert out.getvalue() == "cleanup_move_out: 0 units processed in 0 batches, 0 failed\n"


def test_a_failing_unit_is_reported_the_rest_is_reset_and_the_exit_status_is_not_zero(monkeypatch):
    today = timezone.localdate()
    good, bad = furnished_unit(), furnished_unit()
    for unit in (good, bad):
        LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 1 * DAY)
    real_reset = services.unit_settings_reset

    def reset(*, unit):
        if unit.pk == bad.pk:
            raise RuntimeError("device cloud refused")
        return real_reset(unit=unit)

    real_batch_reset = services._units_settings_reset

    def batch_reset(*, unit_ids):
        if bad.pk in unit_ids:
            raise RuntimeError("device cloud refused")
        return real_batch_reset(unit_ids=unit_ids)

    monkeypatch.setattr(services, "unit_settings_reset", reset)
    monkeypatch.setattr(services, "_units_settings_reset", batch_reset)
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("cleanup_move_out", stdout=out)
    assert caught.value.returncode == 1
    assert "1 units processed in 1 batches, 1 failed" in out.getvalue()
    assert (settings_of(good), settings_of(bad)) == (0, 3)

    monkeypatch.setattr(services, "unit_settings_reset", real_reset)
    monkeypatch.setattr(services, "_units_settings_reset", real_batch_reset)
    call_command("cleanup_move_out", stdout=io.StringIO())
    assert settings_of(bad) == 0


def test_beat_runs_the_move_out_daily_and_the_task_calls_the_service():
    schedule = settings.CELERY_BEAT_SCHEDULE["move-out-reset"]
    assert schedule["task"] == leases_ended_reset_run.name
    assert schedule["schedule"].hour == {3}
    assert schedule["schedule"].minute == {0}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]

    today = timezone.localdate()
    unit = furnished_unit()
    LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - 1 * DAY)
    assert leases_ended_reset_run.apply().get() == 1
    assert settings_of(unit) == 0
