"""The smarthome services: PIN rules at the one way in, encryption at rest, resets and purges."""

from __future__ import annotations

import datetime

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from smarthome.crypto import pin_decrypt
from smarthome.models import Device, PinCode, RemoteControlSetting, SyncState
from smarthome.services import (
    pin_code_create,
    pin_code_delete,
    pin_codes_reencrypt,
    remote_setting_create,
    remote_setting_delete,
    remote_setting_update,
    unit_settings_reset,
    user_device_settings_purge,
)
from tests.factories import UnitFactory
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def field_errors(caught: pytest.ExceptionInfo) -> dict:
    return caught.value.message_dict


# PIN codes
# ------------------------------------------------------------------------------


def test_pin_is_stored_encrypted_and_never_in_clear_in_any_column():
    lock = SmartLockFactory()
    pin_code = pin_code_create(device=lock, label="家族用", pin="48291573")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {PinCode._meta.db_table}")  # noqa: S608 - table name from the model
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert all("48291573" not in str(value) for value in rows[0])
    assert pin_decrypt(PinCode.objects.get(pk=pin_code.pk).pin_encrypted) == "48291573"


def test_full_width_pin_is_accepted_and_stored_normalised():
    lock = SmartLockFactory()
    pin_code = pin_code_create(device=lock, label="家族用", pin="４８２９－１５")
    assert pin_decrypt(pin_code.pin_encrypted) == "482915"


@pytest.mark.parametrize("bad", ["1234", "0000", "123", "48291573561", "48a9"])
def test_service_refuses_bad_pins_on_the_pin_field(bad):
    lock = SmartLockFactory()
    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=lock, label="家族用", pin=bad)
    assert "pin" in field_errors(caught)
    assert not PinCode.objects.exists()


def test_pin_only_on_a_smart_lock():
    hub = DeviceFactory()
    with pytest.raises(ValidationError):
        pin_code_create(device=hub, label="家族用", pin="4829")
    assert not PinCode.objects.exists()


def test_same_pin_twice_on_one_lock_is_refused():
    lock = SmartLockFactory()
    pin_code_create(device=lock, label="家族用", pin="4829")
    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=lock, label="来客用", pin="４８２９")
    assert "pin" in field_errors(caught)
    assert PinCode.objects.count() == 1


def test_same_pin_on_another_lock_is_fine():
    pin_code_create(device=SmartLockFactory(), label="家族用", pin="4829")
    pin_code_create(device=SmartLockFactory(), label="家族用", pin="4829")
    assert PinCode.objects.count() == 2


def test_pin_of_an_expired_code_may_be_used_again(time_machine):
    lock = SmartLockFactory()
    time_machine.move_to(datetime.datetime(2026, 4, 1, 9, 0, tzinfo=datetime.UTC), tick=False)
    pin_code_create(device=lock, label="清掃", pin="4829", valid_until=timezone.now() + 8 * HOUR)
    time_machine.move_to(datetime.datetime(2026, 4, 2, 9, 0, tzinfo=datetime.UTC), tick=False)
    pin_code_create(device=lock, label="家族用", pin="4829")
    assert PinCode.objects.filter(device=lock).count() == 2


def test_same_pin_in_separate_windows_is_fine_but_overlapping_windows_are_refused():
    lock = SmartLockFactory()
    start = timezone.now() + 24 * HOUR
    pin_code_create(device=lock, label="月曜の清掃", pin="4829", valid_from=start, valid_until=start + 8 * HOUR)
    pin_code_create(
        device=lock, label="火曜の清掃", pin="4829", valid_from=start + 24 * HOUR, valid_until=start + 32 * HOUR
    )
    with pytest.raises(ValidationError):
        pin_code_create(
            device=lock, label="重複", pin="4829", valid_from=start + 4 * HOUR, valid_until=start + 12 * HOUR
        )
    with pytest.raises(ValidationError):
        pin_code_create(device=lock, label="無期限", pin="4829")
    assert PinCode.objects.count() == 2


def test_at_most_20_pins_per_lock():
    lock = SmartLockFactory()
    PinCodeFactory.create_batch(19, device=lock)
    pin_code_create(device=lock, label="20件目", pin="4829")
    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=lock, label="21件目", pin="5930")
    assert "__all__" in field_errors(caught)
    assert PinCode.objects.filter(device=lock).count() == 20
    pin_code_create(device=SmartLockFactory(), label="別のロック", pin="5930")


def test_window_ending_in_the_past_is_refused():
    lock = SmartLockFactory()
    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=lock, label="清掃", pin="4829", valid_until=timezone.now() - HOUR)
    assert "valid_until" in field_errors(caught)


def test_window_ending_before_it_starts_is_refused():
    lock = SmartLockFactory()
    start = timezone.now() + 24 * HOUR
    with pytest.raises(ValidationError):
        pin_code_create(device=lock, label="清掃", pin="4829", valid_from=start, valid_until=start - HOUR)
    assert not PinCode.objects.exists()


def test_blank_label_is_refused():
    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=SmartLockFactory(), label="   ", pin="4829")
    assert "label" in field_errors(caught)


def test_pin_code_delete_removes_only_that_pin():
    keep, gone = PinCodeFactory.create_batch(2)
    pin_code_delete(pin_code=gone)
    assert list(PinCode.objects.all()) == [keep]


# Key rotation
# ------------------------------------------------------------------------------


def test_rotation_reencrypts_every_pin_with_the_newest_key(settings):
    old_key = settings.SMARTHOME_PIN_KEYS[0]
    lock = SmartLockFactory()
    pin_codes = [
        pin_code_create(device=lock, label=f"鍵{n}", pin=pin) for n, pin in enumerate(["4829", "5930", "6041"])
    ]

    new_key = Fernet.generate_key().decode()
    settings.SMARTHOME_PIN_KEYS = [new_key, old_key]
    assert pin_codes_reencrypt(batch_size=2) == 3

    settings.SMARTHOME_PIN_KEYS = [new_key]  # the old key is dropped after the rotation
    stored = {p.pk: pin_decrypt(p.pin_encrypted) for p in PinCode.objects.all()}
    assert stored == {pin_codes[0].pk: "4829", pin_codes[1].pk: "5930", pin_codes[2].pk: "6041"}
    with pytest.raises(ValidationError):
        pin_code_create(device=lock, label="重複", pin="5930")

    settings.SMARTHOME_PIN_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        pin_decrypt(PinCode.objects.first().pin_encrypted)


def test_uniqueness_holds_mid_rotation_before_reencryption(settings):
    lock = SmartLockFactory()
    pin_code_create(device=lock, label="家族用", pin="4829")
    settings.SMARTHOME_PIN_KEYS = [Fernet.generate_key().decode(), *settings.SMARTHOME_PIN_KEYS]
    with pytest.raises(ValidationError):
        pin_code_create(device=lock, label="来客用", pin="4829")


def test_rotate_pin_key_command_reports_the_count(settings, capsys):
    PinCodeFactory.create_batch(3)
    settings.SMARTHOME_PIN_KEYS = [Fernet.generate_key().decode(), *settings.SMARTHOME_PIN_KEYS]
    call_command("smarthome_rotate_pin_key", "--batch-size", "2")
    assert "3" in capsys.readouterr().out
    settings.SMARTHOME_PIN_KEYS = settings.SMARTHOME_PIN_KEYS[:1]
    assert all(pin_decrypt(p.pin_encrypted) for p in PinCode.objects.all())


# Remote-control settings
# ------------------------------------------------------------------------------


def test_remote_setting_create_update_delete():
    hub = DeviceFactory()
    remote = remote_setting_create(device=hub, name=" 寝室の照明 ", appliance_type="light", maker="パナソニック")
    assert remote.name == "寝室の照明"

    remote_setting_update(remote_setting=remote, name="寝室の扇風機", appliance_type="fan", maker="", signal_data="x")
    remote.refresh_from_db()
    assert (remote.name, remote.appliance_type, remote.maker, remote.signal_data) == ("寝室の扇風機", "fan", "", "x")

    remote_setting_delete(remote_setting=remote)
    assert not RemoteControlSetting.objects.exists()


def test_remote_setting_refuses_blank_name_and_unknown_type():
    hub = DeviceFactory()
    with pytest.raises(ValidationError) as caught:
        remote_setting_create(device=hub, name=" ", appliance_type="toaster")
    assert {"name", "appliance_type"} <= set(field_errors(caught))
    assert not RemoteControlSetting.objects.exists()


# Move-out reset and account purge
# ------------------------------------------------------------------------------


def test_unit_reset_purges_settings_keeps_devices_and_is_idempotent():
    unit = UnitFactory()
    hub, lock = UnitDeviceFactory(unit=unit), UnitSmartLockFactory(unit=unit)
    RemoteControlSettingFactory.create_batch(3, device=hub)
    PinCodeFactory.create_batch(2, device=lock)
    neighbour_lock = UnitSmartLockFactory()
    PinCodeFactory(device=neighbour_lock)

    first = unit_settings_reset(unit=unit)
    assert (first.remote_settings, first.pin_codes, first.total) == (3, 2, 5)
    unit.refresh_from_db()
    assert unit.last_reset_at is not None
    assert set(Device.objects.filter(unit=unit)) == {hub, lock}

    second = unit_settings_reset(unit=unit)
    assert second.total == 0
    assert PinCode.objects.filter(device=neighbour_lock).count() == 1


def test_user_purge_removes_own_device_settings_only():
    own_hub = DeviceFactory()
    user = own_hub.owner_user
    own_lock = SmartLockFactory(owner_user=user)
    RemoteControlSettingFactory.create_batch(2, device=own_hub)
    PinCodeFactory(device=own_lock)
    unit_hub = UnitDeviceFactory()
    RemoteControlSettingFactory(device=unit_hub)
    RemoteControlSettingFactory()  # someone else's

    result = user_device_settings_purge(user=user)
    assert (result.remote_settings, result.pin_codes) == (2, 1)
    assert RemoteControlSetting.objects.count() == 2
    assert Device.objects.filter(owner_user=user).count() == 2
    assert user_device_settings_purge(user=user).total == 0


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"label": ""},
        {"valid_until_before_from": True},
        {"label": "", "valid_until_before_from": True},
        {"sync_state": "bogus"},
        {"pin_encrypted": ""},
        {"valid_until": "not a date", "valid_until_before_from": True},
    ],
)
def test_pin_code_clean_gives_exactly_the_errors_of_full_clean(change):
    from smarthome.services import _pin_code_full_clean

    start = timezone.now() + HOUR
    pin_code = PinCodeFactory.build(device=SmartLockFactory(), valid_from=None, valid_until=None)
    if change.pop("valid_until_before_from", False):
        pin_code.valid_from, pin_code.valid_until = start, start - HOUR
    for field, value in change.items():
        setattr(pin_code, field, value)

    def errors(clean) -> dict | None:
        try:
            clean()
        except ValidationError as error:
            return {field: [(e.code, str(e.message)) for e in es] for field, es in error.error_dict.items()}
        return None

    assert errors(lambda: _pin_code_full_clean(pin_code)) == errors(pin_code.full_clean)
    assert errors(lambda: _pin_code_full_clean(pin_code, exclude=["device"])) == errors(
        lambda: pin_code.full_clean(exclude=["device"])
    )
    assert errors(lambda: _pin_code_full_clean(pin_code, exclude=["label"])) == errors(
        lambda: pin_code.full_clean(exclude=["label"])
    )


def test_pin_add_checks_its_constraints_and_slots_in_few_queries(django_assert_num_queries):
    lock = SmartLockFactory()
    # the version bump, which takes the lock and reads its slots and channel; the lock's PINs
    # (slots taken and the same PIN); the insert, which the check constraints guard
    # (with the atomic block's savepoint and release around it under the test's transaction)
    with django_assert_num_queries(5):
        pin_code_create(device=lock, label="家族", pin="482915")


@pytest.mark.parametrize(
    "in_a_transaction",
    [
        pytest.param(True, id="inside-a-transaction"),
        pytest.param(False, id="autocommit", marks=pytest.mark.django_db(transaction=True, serialized_rollback=True)),
    ],
)
def test_a_pin_the_check_constraints_refuse_gets_full_cleans_errors_and_changes_nothing(in_a_transaction):
    """A caller that skips the form's window check: the INSERT's constraint is reported as
    full_clean reports it, and neither the PIN nor the version bump is kept, whether the PIN
    add is the request's own transaction (a view) or a savepoint in another (a test)."""
    lock = SmartLockFactory()
    start = timezone.now() + 3 * HOUR
    expected = PinCodeFactory.build(device=lock, valid_from=start, valid_until=start - HOUR)
    with pytest.raises(ValidationError) as full_clean:
        expected.full_clean(exclude=["device"])

    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=lock, label="家族", pin="482915", valid_from=start, valid_until=start - HOUR)

    assert caught.value.message_dict == full_clean.value.message_dict
    assert not PinCode.all_objects.filter(device=lock).exists()
    lock.refresh_from_db()
    assert (lock.desired_version, lock.pending_since) == (0, None)


def test_a_full_lock_is_reported_before_a_pin_in_use():
    lock = SmartLockFactory(slots_total=1)
    pin_code_create(device=lock, label="家族", pin="482915")
    with pytest.raises(ValidationError) as caught:
        pin_code_create(device=lock, label="ゲスト", pin="482915")
    assert list(caught.value.error_dict) == ["__all__"]
    assert "1件まで" in str(caught.value)


def test_the_pin_window_rule_in_python_is_the_querys():
    """`_pin_windows_overlap` (the PIN add, on the rows it read) and `_pin_in_use_q` (the PIN
    edit, in the database) agree on every kind of window: open, past, future, overlapping."""
    from itertools import product

    from smarthome.crypto import pin_lookup
    from smarthome.services import _pin_in_use_q, _pin_windows_overlap

    now = timezone.now()
    times = [None, now - 2 * HOUR, now - HOUR, now + HOUR, now + 2 * HOUR, now + 3 * HOUR]
    windows = [(start, end) for start, end in product(times, times) if start is None or end is None or start < end]
    lock = SmartLockFactory()
    held = {
        window: PinCodeFactory(
            device=lock,
            valid_from=window[0],
            valid_until=window[1],
            pin_lookup=pin_lookup(device_id=lock.pk, pin="482915"),
        )
        for window in windows
    }
    for valid_from, valid_until in windows:
        in_use = _pin_in_use_q(device=lock, pin="482915", valid_from=valid_from, valid_until=valid_until, now=now)
        in_the_database = set(PinCode.objects.filter(in_use).values_list("pk", flat=True))
        in_python = {
            pin.pk
            for (held_from, held_until), pin in held.items()
            if _pin_windows_overlap(held_from, held_until, valid_from, valid_until, now=now)
        }
        assert in_python == in_the_database, (valid_from, valid_until)


def test_the_pins_held_read_is_the_default_managers():
    """The PIN add's plain read of a lock's PINs (`_pins_held`) gives the rows and values of
    `PinCode.objects…values_list(…)`: not another lock's, not those being removed, the windows
    as datetimes."""
    from smarthome.services import _pins_held

    now = timezone.now()
    lock, other = SmartLockFactory(), SmartLockFactory()
    for state in SyncState:
        PinCodeFactory(device=lock, sync_state=state, valid_from=now - HOUR, valid_until=now + HOUR)
    PinCodeFactory(device=lock, valid_from=None, valid_until=None)
    PinCodeFactory(device=other)
    fields = ("pin_lookup", "valid_from", "valid_until")
    expected = list(PinCode.objects.filter(device=lock).values_list(*fields))
    held = _pins_held(device_id=lock.pk)
    assert sorted(held, key=repr) == sorted(expected, key=repr)
    assert len(held) == len(SyncState)  # each state but REMOVING, and the open window
    assert {type(start) for _lookup, start, _end in held if start is not None} == {datetime.datetime}
