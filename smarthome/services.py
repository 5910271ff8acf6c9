"""Every state change of the smarthome app. Views, the admin, commands and tasks call these."""

from __future__ import annotations

import datetime
import functools
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import CheckConstraint, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from myspacecore.core.cleanup import CleanupProgress, CleanupResult, progress_wants_total
from myspacecore.tenancy.models import AuditLogEntry, Lease, Unit
from myspacecore.tenancy.services.audit import audit_log_record
from myspacecore.tenancy.sql import column_name, row_insert, table, values_columns, values_from_rows

from .app_settings import app_settings
from .crypto import pin_decrypt, pin_encrypt, pin_lookup, pin_lookups, pin_token_rotate
from .models import Device, DeviceSettingsReset, PinCode, RemoteControlSetting, SettingsPurgeRequest, SyncState
from .pins import pin_normalize, pin_validate
from .sync.services import (
    channels_publish_on_commit,
    device_settings_changed,
    devices_settings_changed,
    devices_wipe_on_commit,
    purge_request_finish_if_confirmed,
)

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResetResult:
    """What a reset or a purge removed (settings now being removed from their devices)."""

    remote_settings: int = 0
    pin_codes: int = 0

    @property
    def total(self) -> int:
        return self.remote_settings + self.pin_codes


# Remote-control settings
# ------------------------------------------------------------------------------


@transaction.atomic
def remote_setting_create(
    *, device: Device, name: str, appliance_type: str, maker: str = "", signal_data: str = ""
) -> RemoteControlSetting:
    """Add a remote-control setting (リモコン情報) to a device; it is sent to the device on commit."""
    remote_setting = RemoteControlSetting(
        device=device,
        name=name.strip(),
        appliance_type=appliance_type,
        maker=maker.strip(),
        signal_data=signal_data,
    )
    remote_setting.full_clean()
    remote_setting.changed_version = device_settings_changed(device=device)
    remote_setting.save()
    return remote_setting


@transaction.atomic
def remote_setting_update(
    *, remote_setting: RemoteControlSetting, name: str, appliance_type: str, maker: str, signal_data: str
) -> RemoteControlSetting:
    """Change a remote-control setting (every field travels to the device); its device never changes."""
    remote_setting.name = name.strip()
    remote_setting.appliance_type = appliance_type
    remote_setting.maker = maker.strip()
    remote_setting.signal_data = signal_data
    remote_setting.full_clean()
    _setting_changed(setting=remote_setting, version=device_settings_changed(device=remote_setting.device))
    remote_setting.save(update_fields=["name", "appliance_type", "maker", "signal_data", "updated_at", *SYNC_FIELDS])
    return remote_setting


@transaction.atomic
def remote_setting_save(*, remote_setting: RemoteControlSetting) -> RemoteControlSetting:
    """Save a remote-control setting as a console form left it (add or change): the resident's
    rules, and its device is told (a new desired version, sent on commit)."""
    remote_setting.name = remote_setting.name.strip()
    remote_setting.maker = remote_setting.maker.strip()
    remote_setting.full_clean()
    _setting_changed(setting=remote_setting, version=device_settings_changed(device=remote_setting.device))
    remote_setting.save()
    return remote_setting


@transaction.atomic
def remote_setting_delete(*, remote_setting: RemoteControlSetting) -> None:
    """Remove one remote-control setting: it is "being removed" until its device confirms, then it goes."""
    _setting_remove(setting=remote_setting)


SYNC_FIELDS = ("changed_version", "sync_state", "sync_failure", "sync_changed_at")


def _setting_changed(*, setting: RemoteControlSetting | PinCode, version: int, state: str = SyncState.SETTING) -> None:
    setting.changed_version = version
    setting.sync_state = state
    setting.sync_failure = ""
    setting.sync_changed_at = timezone.now()


def _setting_remove(*, setting: RemoteControlSetting | PinCode) -> None:
    """Mark a setting REMOVING at a new version of its device (the report that confirms it deletes the row)."""
    if setting.sync_state == SyncState.REMOVING:
        return
    _setting_changed(setting=setting, version=device_settings_changed(device=setting.device), state=SyncState.REMOVING)
    type(setting).all_objects.filter(pk=setting.pk).update(**{field: getattr(setting, field) for field in SYNC_FIELDS})


# Smart-lock PIN codes
# ------------------------------------------------------------------------------


def pin_code_create(
    *,
    device: Device,
    label: str,
    pin: str,
    valid_from: datetime.datetime | None = None,
    valid_until: datetime.datetime | None = None,
) -> PinCode:
    """Add a PIN (暗証番号) to a smart lock, stored encrypted with a keyed lookup hash.

    Refuses (ValidationError keyed by field): a device that is not a smart lock, a PIN
    that breaks the rules of `smarthome.pins`, a window that ends in the past, a PIN
    already in use on this lock during an overlapping window, and a full lock.
    """
    try:
        return _pin_code_create(device=device, label=label, pin=pin, valid_from=valid_from, valid_until=valid_until)
    except _RefusedByConstraint as refused:
        # The INSERT's check constraint refused it and the whole change is undone: the
        # constraints are asked one by one, outside it, for full_clean's very errors.
        _pin_code_full_clean(refused.pin_code, exclude=["device"])
        raise refused.integrity_error from None


class _RefusedByConstraint(Exception):
    def __init__(self, pin_code: PinCode, integrity_error: IntegrityError) -> None:
        super().__init__(str(integrity_error))
        self.pin_code, self.integrity_error = pin_code, integrity_error


@transaction.atomic
def _pin_code_create(
    *,
    device: Device,
    label: str,
    pin: str,
    valid_from: datetime.datetime | None,
    valid_until: datetime.datetime | None,
) -> PinCode:
    if not device.is_smart_lock:
        raise ValidationError({NON_FIELD_ERRORS: _("暗証番号はスマートロックにのみ設定できます。")})
    pin = pin_normalize(pin)
    try:
        pin_validate(pin)
    except ValidationError as error:
        raise ValidationError({"pin": error.error_list}) from None
    now = timezone.now()
    if valid_until is not None and valid_until <= now:
        raise ValidationError({"valid_until": _("有効終了日時は現在より後にしてください。")})

    # The device's version bump first: its UPDATE takes the device's row lock, so two concurrent
    # requests can neither both take the 20th slot nor both register the same PIN (a refusal
    # below rolls the bump back with the rest), and it reads the lock's slots under that lock.
    version = device_settings_changed(device=device)
    # The lock's PINs (a slot each, PINS_PER_LOCK at most), read once: the slots taken, and the
    # same PIN in an overlapping window among them (`_pin_in_use_q`'s rule, applied to the rows).
    held = _pins_held(device_id=device.pk)
    _pin_slot_check(device=device, taken=len(held))
    lookups = set(pin_lookups(device_id=device.pk, pin=pin))
    if any(
        lookup in lookups and _pin_windows_overlap(held_from, held_until, valid_from, valid_until, now=now)
        for lookup, held_from, held_until in held
    ):
        raise ValidationError({"pin": _("この暗証番号は、このスマートロックですでに使われています。")})

    pin_code = PinCode(
        device=device,
        label=label.strip(),
        pin_encrypted=pin_encrypt(pin),
        pin_lookup=pin_lookup(device_id=device.pk, pin=pin),
        valid_from=valid_from,
        valid_until=valid_until,
        changed_version=version,
    )
    _pin_code_insert(pin_code)
    return pin_code


_HELD_FIELDS = ("pin_lookup", "valid_from", "valid_until")


def _pins_held(*, device_id: int) -> list[tuple[str, datetime.datetime | None, datetime.datetime | None]]:
    """`PinCode.objects.filter(device_id=device_id).values_list("pin_lookup", "valid_from",
    "valid_until")` (the default manager: not the PINs being removed) in one plain statement
    built once per process: the ORM's building was most of this read's CPU on every PIN add
    (bench/README.md, loadtest.py); a test holds the two to the same rows."""
    with connection.cursor() as cursor:
        cursor.execute(_pins_held_sql(connection.vendor), [device_id, SyncState.REMOVING.value])
        rows = cursor.fetchall()
    return values_from_rows(PinCode, _HELD_FIELDS, rows)


@functools.cache
def _pins_held_sql(vendor: str) -> str:
    return (
        f"SELECT {values_columns(PinCode, *_HELD_FIELDS)} FROM {table(PinCode)} "  # noqa: S608 - names from _meta
        f"WHERE {column_name(PinCode, 'device')} = %s AND NOT ({column_name(PinCode, 'sync_state')} = %s)"
    )


def _pin_code_insert(pin_code: PinCode) -> None:
    """Validate and INSERT a new PIN: the fields checked here, the check constraints by the
    INSERT itself (no savepoint: a refusal undoes the whole PIN add, and `pin_code_create` then
    asks them one by one for full_clean's errors). Asking them first was a query of its own on
    every PIN; they fail only when a caller skips the form's checks (the window). The device's
    row was just locked by this transaction: it exists, so its foreign key needs no query."""
    try:
        pin_code.full_clean(exclude=["device"], validate_constraints=False)
    except ValidationError:
        _pin_code_full_clean(pin_code, exclude=["device"])  # the fields' errors and the constraints'
        raise
    try:
        row_insert(pin_code)
    except IntegrityError as error:
        raise _RefusedByConstraint(pin_code, error) from error


# PinCode's check constraints, put to the database as one query (and one savepoint) instead of
# one each: all of them hold exactly when their conjunction does (each passes on TRUE or NULL, and
# so does the AND of them). Only when it does not, or a field is left out, does Django ask them one
# by one, for the very errors full_clean gives.
_PIN_CHECKS = [constraint for constraint in PinCode._meta.constraints if isinstance(constraint, CheckConstraint)]
assert len(_PIN_CHECKS) == len(PinCode._meta.constraints), "only check constraints are combined"
_PIN_CONDITIONS = Q(*(constraint.condition for constraint in _PIN_CHECKS))
_PIN_CONDITION_FIELDS = _PIN_CONDITIONS.referenced_base_fields


def _pin_code_full_clean(pin_code: PinCode, *, exclude: list[str] | None = None) -> None:
    """`pin_code.full_clean(exclude=exclude)`: the same errors, gathered the same way."""
    exclude = list(exclude or [])
    errors: dict[str, list[ValidationError]] = {}
    try:
        pin_code.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    # As full_clean does: a field that already failed is left out of the constraints.
    skip = {*exclude, *(field for field in errors if field != NON_FIELD_ERRORS)}
    if skip & _PIN_CONDITION_FIELDS or not _PIN_CONDITIONS.check(
        pin_code._get_field_expression_map(meta=PinCode._meta)  # type: ignore[attr-defined]  # what CheckConstraint.validate uses
    ):
        try:
            pin_code.validate_constraints(exclude=skip)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _pin_slot_check(*, device: Device, taken: int) -> None:
    """A lock has PINS_PER_LOCK slots, or fewer if it reported fewer; `taken` of them hold a PIN
    (`PinCode.objects`: a PIN being removed takes none, the lock drops it in the same whole-state
    message that brings the new one)."""
    limit = min(app_settings.PINS_PER_LOCK, device.slots_total or app_settings.PINS_PER_LOCK)
    if taken >= limit:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "1つのスマートロックに登録できる暗証番号は%(limit)d件までです。不要な暗証番号を削除してください。"
                )
                % {"limit": limit}
            }
        )


@transaction.atomic
def pin_code_update(
    *,
    pin_code: PinCode,
    label: str,
    valid_from: datetime.datetime | None,
    valid_until: datetime.datetime | None,
) -> PinCode:
    """Change a PIN's label and validity window; its value never changes (a new value is a new code).

    The window travels to the lock, so changing it bumps the device's version and the PIN is
    反映中 again until the lock confirms; the label is ours alone and changes nothing on the lock.
    Refuses a PIN being removed, a window that ends in the past, and one that makes the PIN
    overlap the same PIN on this lock.
    """
    if pin_code.sync_state == SyncState.REMOVING:
        raise ValidationError({NON_FIELD_ERRORS: _("削除中の暗証番号は変更できません。")})
    window_changed = (valid_from, valid_until) != (pin_code.valid_from, pin_code.valid_until)
    if window_changed and valid_until is not None and valid_until <= timezone.now():
        raise ValidationError({"valid_until": _("有効終了日時は現在より後にしてください。")})
    pin_code.label = label.strip()
    pin_code.valid_from, pin_code.valid_until = valid_from, valid_until
    _pin_code_full_clean(pin_code)
    fields = ["label"]
    if window_changed:
        Device.objects.select_for_update().filter(pk=pin_code.device_id).first()
        pin = pin_decrypt(pin_code.pin_encrypted)
        others = PinCode.objects.exclude(pk=pin_code.pk)
        if _pin_in_use(
            device=pin_code.device,
            pin=pin,
            valid_from=valid_from,
            valid_until=valid_until,
            now=timezone.now(),
            among=others,
        ):
            raise ValidationError(
                {"valid_until": _("この期間には、同じ暗証番号がこのスマートロックで使われています。")}
            )
        _setting_changed(setting=pin_code, version=device_settings_changed(device=pin_code.device))
        fields += ["valid_from", "valid_until", *SYNC_FIELDS]
    pin_code.save(update_fields=fields)
    return pin_code


def _pin_in_use(
    *,
    device: Device,
    pin: str,
    valid_from: datetime.datetime | None,
    valid_until: datetime.datetime | None,
    now: datetime.datetime,
    among: QuerySet[PinCode] | None = None,
) -> bool:
    """Same PIN on the same lock, not yet expired, with a window overlapping the new one. A PIN
    being removed does not count: the lock drops it in the same whole-state message."""
    among = PinCode.objects.all() if among is None else among
    in_use = _pin_in_use_q(device=device, pin=pin, valid_from=valid_from, valid_until=valid_until, now=now)
    return among.filter(in_use).exists()


def _pin_windows_overlap(
    held_from: datetime.datetime | None,
    held_until: datetime.datetime | None,
    valid_from: datetime.datetime | None,
    valid_until: datetime.datetime | None,
    *,
    now: datetime.datetime,
) -> bool:
    """`_pin_in_use_q`'s window rule for one PIN held by the lock, in Python (the twin of the
    query's; a test holds the two together): not yet expired, and overlapping the new window."""
    not_expired = held_until is None or held_until > now
    starts_before_the_end = valid_until is None or held_from is None or held_from < valid_until
    ends_after_the_start = valid_from is None or held_until is None or held_until > valid_from
    return not_expired and starts_before_the_end and ends_after_the_start


def _pin_in_use_q(
    *,
    device: Device,
    pin: str,
    valid_from: datetime.datetime | None,
    valid_until: datetime.datetime | None,
    now: datetime.datetime,
) -> Q:
    """The PinCodes `_pin_in_use` looks for, as a condition."""
    same_pin = Q(device=device, pin_lookup__in=pin_lookups(device_id=device.pk, pin=pin))
    not_expired = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    overlapping = Q()
    if valid_until is not None:
        overlapping &= Q(valid_from__isnull=True) | Q(valid_from__lt=valid_until)
    if valid_from is not None:
        overlapping &= Q(valid_until__isnull=True) | Q(valid_until__gt=valid_from)
    return same_pin & not_expired & overlapping


@transaction.atomic
def pin_code_delete(*, pin_code: PinCode) -> None:
    """Remove one PIN from its lock: "being removed" until the lock confirms, then the row goes."""
    _setting_remove(setting=pin_code)


def pin_codes_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every PIN with the newest key of SMARTHOME_PIN_KEYS; returns how many.

    Key rotation: prepend a new key, run this, then remove the old key. Batches by
    primary key (constant memory), one transaction per batch, so an interrupted run is
    simply run again. The lookup hashes move to the newest key as well. PINs being removed are
    re-encrypted too. No device version moves: the key at rest is ours, the lock holds the same
    PIN, and each desired message seals the PINs afresh under the device's own key.
    """
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                PinCode.all_objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .only("pk", "device_id", "pin_encrypted", "pin_lookup")[:batch_size]
            )
            if not batch:
                return done
            for pin_code in batch:
                pin_code.pin_encrypted = pin_token_rotate(pin_code.pin_encrypted)
                pin_code.pin_lookup = pin_lookup(device_id=pin_code.device_id, pin=pin_decrypt(pin_code.pin_encrypted))
            PinCode.all_objects.bulk_update(batch, ["pin_encrypted", "pin_lookup"])
        done += len(batch)
        last_pk = batch[-1].pk


# Move-out and account deletion
# ------------------------------------------------------------------------------


def _devices_settings_reset(
    *, device_ids: list[int], reason: str, purge_request: SettingsPurgeRequest | None = None
) -> ResetResult:
    """Empty the desired state of the devices: every setting REMOVING at a new version of its
    device, one DeviceSettingsReset per device to confirm, one publish per channel on commit.

    Devices without settings are reset too: the empty whole state also clears whatever a device
    might hold that we never knew of, and the reset is done only once it says so.
    """
    if not device_ids:
        return ResetResult()
    versions = devices_settings_changed(device_ids=device_ids)
    now = timezone.now()
    version_of = Subquery(Device.objects.filter(pk=OuterRef("device_id")).values("desired_version")[:1])
    removing = {
        "sync_state": SyncState.REMOVING,
        "sync_failure": "",
        "sync_changed_at": now,
        "changed_version": version_of,
    }
    remote_settings = RemoteControlSetting.objects.filter(device_id__in=device_ids).update(**removing)
    pin_codes = PinCode.objects.filter(device_id__in=device_ids).update(**removing)
    DeviceSettingsReset.objects.bulk_create(
        DeviceSettingsReset(device_id=pk, reason=reason, purge_request=purge_request, version=version, requested_at=now)
        for pk, version in versions.items()
    )
    return ResetResult(remote_settings=remote_settings, pin_codes=pin_codes)


@transaction.atomic
def unit_settings_reset(
    *, unit: Unit, reason: str = DeviceSettingsReset.Reason.MOVE_OUT, purge_request: SettingsPurgeRequest | None = None
) -> ResetResult:
    """Move-out: empty the desired state of the unit's devices, keep the devices.

    The remotes and PINs are "being removed" until each device confirms the empty state (then
    the rows go and the reset is confirmed); the console lists the unit until then.
    Idempotent: a second run removes nothing (and counts 0) but records the time again.
    """
    device_ids = list(Device.objects.filter(unit=unit).values_list("pk", flat=True))
    result = _devices_settings_reset(device_ids=device_ids, reason=reason, purge_request=purge_request)
    unit.last_reset_at = timezone.now()
    unit.save(update_fields=["last_reset_at"])
    return result


@transaction.atomic
def user_device_settings_purge(*, user: User) -> ResetResult:
    """Account deletion: purge the settings of the devices the account owns itself.

    The rows go at once, with the devices (`Device.owner_user` CASCADE): once the account is
    gone nothing of it may be left to confirm. Their hubs are told, on commit, to hold nothing.
    A unit's devices are not touched: their settings stay while the lease is in force and go
    with `unit_settings_reset` at move-out (SPEC "Deletion" 4).
    """
    devices_wipe_on_commit(devices=Device.objects.filter(owner_user=user))
    remote_settings, _detail = RemoteControlSetting.objects.filter(device__owner_user=user).delete()
    pin_codes, _detail = PinCode.objects.filter(device__owner_user=user).delete()
    RemoteControlSetting.all_objects.filter(device__owner_user=user).delete()
    PinCode.all_objects.filter(device__owner_user=user).delete()
    return ResetResult(remote_settings=remote_settings, pin_codes=pin_codes)


# Move-out sweep (SPEC "Move-out") and the purge of deleted accounts (SPEC "Deletion")
# ------------------------------------------------------------------------------

# A batch is two statements whatever its size: select and lock the units, then reset them
# all in one (see `_units_settings_reset`).
MOVE_OUT_BATCH_SIZE = 1000
PURGE_BATCH_SIZE = 50


def units_awaiting_reset(*, on: datetime.date | None = None) -> QuerySet[Unit]:
    """Units whose last lease has ended, that no current lease protects, not reset since that end.

    A lease is in force through its `end_date`, so only a reset made on a later day (local
    time) counts: one made on the last day may predate settings the leaving tenant added.
    """
    on = on or timezone.localdate()
    last_end = Lease.objects.past(on).filter(unit=OuterRef("pk")).order_by("-end_date").values("end_date")[:1]
    return (
        Unit.objects.annotate(last_lease_end=Subquery(last_end))
        .filter(last_lease_end__isnull=False)
        .exclude(pk__in=Lease.objects.in_force(on).values("unit_id"))
        .annotate(last_reset_on=TruncDate("last_reset_at", tzinfo=timezone.get_current_timezone()))
        .filter(Q(last_reset_at__isnull=True) | Q(last_reset_on__lte=F("last_lease_end")))
    )


def leases_ended_reset(
    *,
    on: datetime.date | None = None,
    unit_ids: list[int] | None = None,
    batch_size: int = MOVE_OUT_BATCH_SIZE,
    dry_run: bool = False,
    progress: CleanupProgress | None = None,
) -> CleanupResult:
    """Move-out: reset every unit of `units_awaiting_reset` (only `unit_ids` if given).

    Batches by primary key, one transaction per batch, units locked with SKIP LOCKED so
    two runs at once share the work; a unit that fails is counted, logged and left for the
    next run. Idempotent: a reset unit no longer qualifies. `dry_run` only counts.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    candidates = units_awaiting_reset(on=on)
    if unit_ids is not None:
        candidates = candidates.filter(pk__in=unit_ids)
    result = CleanupResult(dry_run=dry_run)
    if dry_run:
        result.processed = candidates.count()
        return result
    if progress_wants_total(progress):
        progress.start(candidates.count())
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                candidates.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                break
            try:
                with transaction.atomic():
                    _units_settings_reset(unit_ids=batch)
                reset = len(batch)
            except Exception:  # noqa: BLE001 - find the broken unit: redo this batch unit by unit
                logger.warning("move-out: batch after unit #%s failed, resetting its units one by one", last_pk)
                reset = _units_settings_reset_one_by_one(unit_ids=batch, result=result)
        last_pk = batch[-1]
        result.processed += reset
        result.batches += 1
        if progress is not None:
            progress.advance(len(batch))
    logger.info("move-out: %s units reset, %s failed", result.processed, result.failed)
    return result


def _units_settings_reset(*, unit_ids: list[int]) -> ResetResult:
    """`unit_settings_reset` for many units at once: a handful of statements, not several per unit.

    PostgreSQL: one statement with the unit ids as one array parameter (bump the devices, mark
    their settings REMOVING at the new version, record one reset per device, stamp the units),
    then one read of the channels to publish on commit. Through the ORM the `IN (%s, …)` lists
    of a batch's units and devices cost more Python time (building and quoting 3,000
    parameters) than PostgreSQL spent on the batch (bench/README.md).
    """
    now = timezone.now()
    if connection.vendor != "postgresql":
        device_ids = list(Device.objects.filter(unit_id__in=unit_ids).values_list("pk", flat=True))
        result = _devices_settings_reset(device_ids=device_ids, reason=DeviceSettingsReset.Reason.MOVE_OUT)
        Unit.objects.filter(pk__in=unit_ids).update(last_reset_at=now)
        return result
    quote = connection.ops.quote_name
    device, remote, pin, unit, reset = (
        quote(model._meta.db_table) for model in (Device, RemoteControlSetting, PinCode, Unit, DeviceSettingsReset)
    )
    removing = SyncState.REMOVING.value
    with connection.cursor() as cursor:
        # Table names come from the models; values are parameters. Each UPDATE of the settings
        # probes the device_id index with the bumped devices' ids and new versions.
        cursor.execute(
            f"""
            WITH devices AS MATERIALIZED (
                UPDATE {device} SET desired_version = desired_version + 1,
                                    pending_since = COALESCE(pending_since, %(now)s)
                WHERE unit_id = ANY(%(units)s)
                RETURNING id, desired_version
            ),
            remotes AS (
                UPDATE {remote} r SET sync_state = %(removing)s, sync_failure = '', sync_changed_at = %(now)s,
                                      changed_version = d.desired_version
                FROM devices d WHERE r.device_id = d.id AND r.sync_state <> %(removing)s RETURNING 1
            ),
            pins AS (
                UPDATE {pin} c SET sync_state = %(removing)s, sync_failure = '', sync_changed_at = %(now)s,
                                   changed_version = d.desired_version
                FROM devices d WHERE c.device_id = d.id AND c.sync_state <> %(removing)s RETURNING 1
            ),
            resets AS (
                INSERT INTO {reset} (device_id, reason, purge_request_id, version, requested_at, confirmed_at)
                SELECT id, %(reason)s, NULL, desired_version, %(now)s, NULL FROM devices
            ),
            stamped AS (UPDATE {unit} SET last_reset_at = %(now)s WHERE id = ANY(%(units)s))
            SELECT (SELECT count(*) FROM remotes), (SELECT count(*) FROM pins)
            """,  # noqa: S608
            {
                "units": list(unit_ids),
                "now": now,
                "removing": removing,
                "reason": DeviceSettingsReset.Reason.MOVE_OUT.value,
            },
        )
        remote_settings, pin_codes = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT DISTINCT COALESCE(h.channel_id, d.channel_id) FROM {device} d
            LEFT JOIN {device} h ON h.id = d.hub_id WHERE d.unit_id = ANY(%(units)s)
            """,  # noqa: S608
            {"units": list(unit_ids)},
        )
        channels_publish_on_commit(channel_ids={row[0] for row in cursor.fetchall()})
    return ResetResult(remote_settings=remote_settings, pin_codes=pin_codes)


def _units_settings_reset_one_by_one(*, unit_ids: list[int], result: CleanupResult) -> int:
    """Reset each unit in its own savepoint: a broken unit is logged, counted and left for the next run."""
    reset = 0
    for unit in Unit.objects.filter(pk__in=unit_ids).order_by("pk"):
        try:
            unit_settings_reset(unit=unit)
        except Exception:  # one broken unit must not stop the sweep
            logger.exception("move-out reset of unit #%s failed", unit.pk)
            result.failed += 1
        else:
            reset += 1
    return reset


class PurgeRequestBusy(Exception):
    """Another process (a worker or the cleanup command) is working on this purge request."""


@transaction.atomic
def settings_purge_request_create(*, user: User, unit_ids: list[int]) -> SettingsPurgeRequest:
    """Account deletion, smart-home side: purge own devices now, record the units for later.

    Call inside the deletion's transaction, before the account row is deleted. The
    settings of the account's own devices go at once (see `SettingsPurgeRequest`); the
    units are purged by `settings_purge_request_run`, enqueued when the transaction
    commits. With the broker down the deletion still commits and the request stays
    pending for `manage.py cleanup_purge_requests`.
    """
    own = user_device_settings_purge(user=user)
    purge_request = SettingsPurgeRequest(
        unit_ids=sorted(set(unit_ids)),
        remote_settings_purged=own.remote_settings,
        pin_codes_purged=own.pin_codes,
    )
    purge_request.full_clean()
    purge_request.save()
    transaction.on_commit(partial(_settings_purge_enqueue, purge_request_id=purge_request.pk))
    return purge_request


def _settings_purge_enqueue(*, purge_request_id: int) -> None:
    """Hand the request to the worker; with the broker down, leave it pending for the sweep.

    Runs after the deletion committed: raising here would turn a finished deletion into
    an error page, so any failure to enqueue is only logged.
    """
    from .tasks import settings_purge_request_run

    try:
        settings_purge_request_run.delay(purge_request_id)
    except Exception as exc:  # broker down or refusing: the request stays pending, the sweep runs it
        logger.exception(
            "settings purge request #%s left pending: not enqueued (%s)", purge_request_id, type(exc).__name__
        )


@transaction.atomic
def settings_purge_request_process(*, purge_request_id: int) -> SettingsPurgeRequest | None:
    """Work off one purge request: reset its units that no current lease protects.

    The request then waits for the devices (AWAITING_DEVICES) and is done when every device it
    reset confirmed the empty state (`report_record`); with no device to wait for, done at once.
    Idempotent: a done or waiting request is returned untouched, and a unit already reset no longer
    qualifies. All of it happens in one transaction holding the request's row lock, so a
    worker killed half-way leaves the request pending and nothing half-purged; raises
    PurgeRequestBusy while another process holds that lock. Returns None for an unknown id.
    Protected units are left to the move-out sweep, which resets them once the lease ends.
    """
    purge_request = SettingsPurgeRequest.objects.select_for_update(skip_locked=True).filter(pk=purge_request_id).first()
    if purge_request is None:
        if SettingsPurgeRequest.objects.filter(pk=purge_request_id).exists():
            raise PurgeRequestBusy(purge_request_id)
        return None
    if purge_request.state in (SettingsPurgeRequest.State.DONE, SettingsPurgeRequest.State.AWAITING_DEVICES):
        return purge_request
    units = list(units_awaiting_reset().filter(pk__in=purge_request.unit_ids).order_by("pk"))
    for unit in units:
        reset = unit_settings_reset(unit=unit, reason=DeviceSettingsReset.Reason.PURGE, purge_request=purge_request)
        purge_request.remote_settings_purged += reset.remote_settings
        purge_request.pin_codes_purged += reset.pin_codes
    purge_request.units_reset += len(units)
    purge_request.attempts += 1
    purge_request.state = SettingsPurgeRequest.State.AWAITING_DEVICES
    purge_request.last_error = ""
    purge_request.full_clean()
    purge_request.save()
    # No device to wait for (no unit to reset, or units without devices): done now.
    purge_request_finish_if_confirmed(purge_request_id=purge_request.pk)
    purge_request.refresh_from_db()
    logger.info("settings purge request #%s: %s units reset, %s", purge_request.pk, len(units), purge_request.state)
    return purge_request


@transaction.atomic
def settings_purge_request_fail(*, purge_request_id: int, error: BaseException) -> None:
    """Record a failed attempt: the request is FAILED until a later run finishes it."""
    closed = [SettingsPurgeRequest.State.DONE, SettingsPurgeRequest.State.AWAITING_DEVICES]
    SettingsPurgeRequest.objects.exclude(state__in=closed).filter(pk=purge_request_id).update(
        state=SettingsPurgeRequest.State.FAILED,
        attempts=F("attempts") + 1,
        last_error=type(error).__name__[:200],
    )
    logger.error("settings purge request #%s failed (%s)", purge_request_id, type(error).__name__)


def settings_purge_requests_process(
    *,
    batch_size: int = PURGE_BATCH_SIZE,
    dry_run: bool = False,
    progress: CleanupProgress | None = None,
) -> CleanupResult:
    """The sweep: finish every pending or failed purge request (broker down, worker killed).

    Batches by primary key, one transaction per batch with a savepoint per request, rows
    locked with SKIP LOCKED: a request a worker is working on right now is left to it.
    A request that fails is marked FAILED, counted, and tried again by the next run.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    open_states = [SettingsPurgeRequest.State.PENDING, SettingsPurgeRequest.State.FAILED]
    candidates = SettingsPurgeRequest.objects.filter(state__in=open_states)
    result = CleanupResult(dry_run=dry_run)
    if dry_run:
        result.processed = candidates.count()
        return result
    if progress_wants_total(progress):
        progress.start(candidates.count())
    last_pk = 0
    while True:
        with transaction.atomic():
            pks = list(
                candidates.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                break
            done = 0
            for pk in pks:
                try:
                    settings_purge_request_process(purge_request_id=pk)
                except Exception as exc:  # recorded on the row, counted, retried by the next run
                    logger.exception("settings purge request #%s failed", pk)
                    settings_purge_request_fail(purge_request_id=pk, error=exc)
                    result.failed += 1
                else:
                    done += 1
        last_pk = pks[-1]
        result.processed += done
        result.batches += 1
        if progress is not None:
            progress.advance(len(pks))
    logger.info("settings purge sweep: %s requests done, %s failed", result.processed, result.failed)
    return result


@transaction.atomic
def unit_move_out_now(*, unit: Unit, acting_user: User) -> ResetResult:
    """Move-out for one unit now (SPEC "Move-out"), on the console: purge its remotes and
    PINs (`unit_settings_reset`; done once its devices confirm), with an audit row for the unit's operator."""
    result = unit_settings_reset(unit=unit)
    audit_log_record(
        actor=acting_user,
        operator=unit.property.operator,
        action=AuditLogEntry.Action.UNIT_RESET,
        target=unit,
        new_value=f"remote_settings={result.remote_settings} pin_codes={result.pin_codes}",
    )
    return result
