"""Every state change of the smarthome app. Views, the admin, commands and tasks call these."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User

from .app_settings import app_settings
from .crypto import pin_decrypt, pin_encrypt, pin_lookup, pin_lookups, pin_token_rotate
from .models import Device, PinCode, RemoteControlSetting
from .pins import pin_normalize, pin_validate


@dataclass(frozen=True)
class ResetResult:
    """What a reset or a purge removed."""

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
    """Add a remote-control setting (リモコン情報) to a device."""
    remote_setting = RemoteControlSetting(
        device=device,
        name=name.strip(),
        appliance_type=appliance_type,
        maker=maker.strip(),
        signal_data=signal_data,
    )
    remote_setting.full_clean()
    remote_setting.save()
    return remote_setting


@transaction.atomic
def remote_setting_update(
    *, remote_setting: RemoteControlSetting, name: str, appliance_type: str, maker: str, signal_data: str
) -> RemoteControlSetting:
    """Change a remote-control setting; its device never changes."""
    remote_setting.name = name.strip()
    remote_setting.appliance_type = appliance_type
    remote_setting.maker = maker.strip()
    remote_setting.signal_data = signal_data
    remote_setting.full_clean()
    remote_setting.save(update_fields=["name", "appliance_type", "maker", "signal_data", "updated_at"])
    return remote_setting


@transaction.atomic
def remote_setting_delete(*, remote_setting: RemoteControlSetting) -> None:
    """Remove one remote-control setting."""
    RemoteControlSetting.objects.filter(pk=remote_setting.pk).delete()


# Smart-lock PIN codes
# ------------------------------------------------------------------------------


@transaction.atomic
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

    # Lock the device row: two concurrent requests must not both take the 20th slot
    # or both register the same PIN.
    Device.objects.select_for_update().filter(pk=device.pk).first()
    if PinCode.objects.filter(device=device).count() >= app_settings.PINS_PER_LOCK:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "1つのスマートロックに登録できる暗証番号は%(limit)d件までです。不要な暗証番号を削除してください。"
                )
                % {"limit": app_settings.PINS_PER_LOCK}
            }
        )
    if _pin_in_use(device=device, pin=pin, valid_from=valid_from, valid_until=valid_until, now=now):
        raise ValidationError({"pin": _("この暗証番号は、このスマートロックですでに使われています。")})

    pin_code = PinCode(
        device=device,
        label=label.strip(),
        pin_encrypted=pin_encrypt(pin),
        pin_lookup=pin_lookup(device_id=device.pk, pin=pin),
        valid_from=valid_from,
        valid_until=valid_until,
    )
    pin_code.full_clean()
    pin_code.save()
    return pin_code


def _pin_in_use(
    *,
    device: Device,
    pin: str,
    valid_from: datetime.datetime | None,
    valid_until: datetime.datetime | None,
    now: datetime.datetime,
) -> bool:
    """Same PIN on the same lock, not yet expired, with a window overlapping the new one."""
    same_pin = PinCode.objects.filter(device=device, pin_lookup__in=pin_lookups(device_id=device.pk, pin=pin))
    not_expired = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    overlapping = Q()
    if valid_until is not None:
        overlapping &= Q(valid_from__isnull=True) | Q(valid_from__lt=valid_until)
    if valid_from is not None:
        overlapping &= Q(valid_until__isnull=True) | Q(valid_until__gt=valid_from)
    return same_pin.filter(not_expired, overlapping).exists()


@transaction.atomic
def pin_code_delete(*, pin_code: PinCode) -> None:
    """Remove one PIN from its lock."""
    PinCode.objects.filter(pk=pin_code.pk).delete()


def pin_codes_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every PIN with the newest key of SMARTHOME_PIN_KEYS; returns how many.

    Key rotation: prepend a new key, run this, then remove the old key. Batches by
    primary key (constant memory), one transaction per batch, so an interrupted run is
    simply run again. The lookup hashes move to the newest key as well.
    """
    done = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                PinCode.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .only("pk", "device_id", "pin_encrypted", "pin_lookup")[:batch_size]
            )
            if not batch:
                return done
            for pin_code in batch:
                pin_code.pin_encrypted = pin_token_rotate(pin_code.pin_encrypted)
                pin_code.pin_lookup = pin_lookup(device_id=pin_code.device_id, pin=pin_decrypt(pin_code.pin_encrypted))
            PinCode.objects.bulk_update(batch, ["pin_encrypted", "pin_lookup"])
        done += len(batch)
        last_pk = batch[-1].pk


# Move-out and account deletion
# ------------------------------------------------------------------------------


def _settings_purge(*, devices: Q) -> ResetResult:
    remote_settings, _detail = RemoteControlSetting.objects.filter(devices).delete()
    pin_codes, _detail = PinCode.objects.filter(devices).delete()
    return ResetResult(remote_settings=remote_settings, pin_codes=pin_codes)


@transaction.atomic
def unit_settings_reset(*, unit: Unit) -> ResetResult:
    """Move-out: purge the remote settings and PINs of the unit's devices, keep the devices.

    Idempotent: a second run removes nothing (and counts 0) but records the time again.
    """
    result = _settings_purge(devices=Q(device__unit=unit))
    unit.last_reset_at = timezone.now()
    unit.save(update_fields=["last_reset_at"])
    return result


@transaction.atomic
def user_device_settings_purge(*, user: User) -> ResetResult:
    """Account deletion: purge the settings of the devices the account owns itself.

    A unit's devices are not touched: their settings stay while the lease is in force and
    go with `unit_settings_reset` at move-out (SPEC "Deletion" 4).
    """
    return _settings_purge(devices=Q(device__owner_user=user))
