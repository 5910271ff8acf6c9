"""The purge of a deleted account's smart-home settings (SPEC "Deletion" 4): the outbox and its task."""

from __future__ import annotations

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.services.deletion import account_delete
from smarthome import services
from smarthome.models import Device, PinCode, RemoteControlSetting, SettingsPurgeRequest
from smarthome.services import settings_purge_request_process
from smarthome.tasks import PURGE_RETRY, settings_purge_request_run
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, UnitFactory, attribute
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def furnished_unit():
    """A unit with a hub (2 remotes) and a lock (1 PIN)."""
    unit = UnitFactory()
    RemoteControlSettingFactory.create_batch(2, device=UnitDeviceFactory(unit=unit))
    PinCodeFactory(device=UnitSmartLockFactory(unit=unit))
    return unit


def settings_of(unit) -> int:
    return (
        RemoteControlSetting.objects.filter(device__unit=unit).count()
        + PinCode.objects.filter(device__unit=unit).count()
    )


def rental_resident():
    user = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=user)
    return user


def test_account_settings_go_and_a_unit_under_a_current_lease_is_kept(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    user = rental_resident()
    home = furnished_unit()
    LeaseFactory(unit=home, resident=user, phone_number=user.phone_number, start_date=today - 100 * DAY)
    own_hub = DeviceFactory(owner_user=user)
    RemoteControlSettingFactory.create_batch(3, device=own_hub)
    PinCodeFactory(device=SmartLockFactory(owner_user=user))

    with django_capture_on_commit_callbacks(execute=True):
        purge_request = account_delete(user=user).erased["smart_home"]

    purge_request.refresh_from_db()
    assert purge_request.state == SettingsPurgeRequest.State.DONE
    assert (purge_request.remote_settings_purged, purge_request.pin_codes_purged) == (3, 1)
    assert purge_request.units_reset == 0
    assert not Device.objects.filter(owner_user__isnull=False).exists()
    assert settings_of(home) == 3, "the lease is in force: the unit's settings stay"


@pytest.mark.parametrize(
    ("start", "end", "captured", "purged"),
    [
        pytest.param(10, None, False, False, id="future lease: never the account's unit"),
        pytest.param(-100, None, True, False, id="current lease: protected until it ends"),
        pytest.param(-100, -5, True, True, id="past lease, unit not reset since: purged"),
    ],
)
def test_lease_rule_decides_which_unit_is_purged(start, end, captured, purged, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    user = rental_resident()
    unit = furnished_unit()
    LeaseFactory(
        unit=unit,
        resident=user,
        phone_number=user.phone_number,
        start_date=today + start * DAY,
        end_date=today + end * DAY if end is not None else None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        purge_request = account_delete(user=user).erased["smart_home"]

    purge_request.refresh_from_db()
    assert (unit.pk in purge_request.unit_ids) is captured
    assert purge_request.state == SettingsPurgeRequest.State.DONE
    assert settings_of(unit) == (0 if purged else 3)


def test_ended_lease_unit_with_a_new_tenant_is_not_purged(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    user = rental_resident()
    unit = furnished_unit()
    LeaseFactory(unit=unit, resident=user, start_date=today - 400 * DAY, end_date=today - 30 * DAY)
    LeaseFactory(unit=unit, start_date=today - 29 * DAY)  # the next tenant, in force
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=user)
    assert settings_of(unit) == 3


def test_unit_reset_since_the_lease_ended_is_not_purged_again(django_capture_on_commit_callbacks):
    """The operator reset it at move-out and prepared it for the next tenant: left alone."""
    today = timezone.localdate()
    user = rental_resident()
    unit = UnitFactory(last_reset_at=timezone.now() - 2 * DAY)
    LeaseFactory(unit=unit, resident=user, start_date=today - 400 * DAY, end_date=today - 5 * DAY)
    RemoteControlSettingFactory(device=UnitDeviceFactory(unit=unit), name="次の入居者向けプリセット")
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=user)
    assert settings_of(unit) == 1


def test_purge_run_twice_purges_once_and_waits_for_the_devices():
    today = timezone.localdate()
    user = rental_resident()
    unit = furnished_unit()
    LeaseFactory(unit=unit, resident=user, start_date=today - 400 * DAY, end_date=today - 5 * DAY)
    # No on-commit callbacks run: the task is not run here.
    purge_request = account_delete(user=user).erased["smart_home"]
    assert SettingsPurgeRequest.objects.get().state == SettingsPurgeRequest.State.PENDING

    first = settings_purge_request_process(purge_request_id=purge_request.pk)
    finished_at = first.finished_at
    second = settings_purge_request_process(purge_request_id=purge_request.pk)

    # Purged here; done only once the devices confirm (no on-commit publish ran).
    assert second.state == SettingsPurgeRequest.State.AWAITING_DEVICES
    assert (second.units_reset, second.attempts, second.finished_at) == (1, 1, finished_at) == (1, 1, None)
    assert (second.remote_settings_purged, second.pin_codes_purged) == (2, 1)
    assert settings_of(unit) == 0
    assert settings_purge_request_run.apply(args=(purge_request.pk,)).get() == "awaiting_devices"


def test_task_of_an_unknown_request_does_nothing():
    assert settings_purge_request_run.apply(args=(987654,)).get() == "missing"


def test_task_marks_the_request_failed_on_an_unexpected_error_and_the_sweep_finishes_it(
    monkeypatch, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    user = rental_resident()
    unit = furnished_unit()
    LeaseFactory(unit=unit, resident=user, start_date=today - 400 * DAY, end_date=today - 5 * DAY)
    purge_request = account_delete(user=user).erased["smart_home"]

    real_reset = services.unit_settings_reset

    def broken(*, unit, **options):
        raise ValueError("bad data")

    monkeypatch.setattr(services, "unit_settings_reset", broken)
    assert settings_purge_request_run.apply(args=(purge_request.pk,)).get() == "failed"
    purge_request.refresh_from_db()
    assert (purge_request.state, purge_request.last_error, purge_request.attempts) == ("failed", "ValueError", 1)
    assert settings_of(unit) == 3, "the failed attempt was rolled back as a whole"

    monkeypatch.setattr(services, "unit_settings_reset", real_reset)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.settings_purge_requests_process()
    assert (result.processed, result.failed) == (1, 0)
    purge_request.refresh_from_db()
    assert (purge_request.state, purge_request.last_error, purge_request.attempts) == ("done", "", 2)
    assert settings_of(unit) == 0


def test_task_retries_transient_errors_with_a_bound_then_marks_failed(monkeypatch):
    purge_request = SettingsPurgeRequest.objects.create(unit_ids=[])
    calls = []

    def flaky(*, purge_request_id):
        calls.append(purge_request_id)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "settings_purge_request_process", flaky)
    assert settings_purge_request_run.apply(args=(purge_request.pk,)).get() == "failed"
    assert len(calls) == PURGE_RETRY.max_retries + 1
    purge_request.refresh_from_db()
    assert (purge_request.state, purge_request.last_error) == ("failed", "OperationalError")


def test_task_succeeds_after_a_transient_error(monkeypatch):
    purge_request = SettingsPurgeRequest.objects.create(unit_ids=[])
    real_process = services.settings_purge_request_process
    calls = []

    def once_flaky(*, purge_request_id):
        calls.append(purge_request_id)
        if len(calls) == 1:
            raise OperationalError("deadlock detected")
        return real_process(purge_request_id=purge_request_id)

    monkeypatch.setattr(services, "settings_purge_request_process", once_flaky)
    assert settings_purge_request_run.apply(args=(purge_request.pk,)).get() == "done"
    purge_request.refresh_from_db()
    assert purge_request.state == SettingsPurgeRequest.State.DONE


def test_purge_task_is_acks_late_and_rejected_on_worker_loss():
    assert settings_purge_request_run.acks_late is True
    assert settings_purge_request_run.reject_on_worker_lost is True


def test_outbox_row_holds_no_personal_data():
    user = rental_resident()
    phone, nickname = str(user.phone_number), user.profile.nickname
    purge_request = account_delete(user=user).erased["smart_home"]
    values = SettingsPurgeRequest.objects.filter(pk=purge_request.pk).values().get()
    assert phone not in repr(values)
    assert nickname not in repr(values)
