"""What the smart-home room keeps about an account, for the data download and the deletion
(registered with `myspacecore.core.personal_data` by SmarthomeConfig.ready).

PINs are never disclosed, not even to their owner: only that they exist, their label and
window (SPEC "Smart home").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch
from django.utils import timezone

from myspacecore.core.masking import PIN_MASK
from myspacecore.core.personal_data import PersonalDataHolder
from myspacecore.core.timestamps import iso_local
from myspacecore.tenancy.models import Lease

from .models import PinCode, RemoteControlSetting, SettingsPurgeRequest

if TYPE_CHECKING:
    from accounts.models import User


def smart_home_export(user: User) -> dict:
    """The devices the account can see, with their remotes and (masked) PINs, each with where it
    stands on its device (those being removed included: the device still holds them)."""
    from .selectors import devices_for_user  # here: a process that never exports (a cleanup command) skips it

    devices = devices_for_user(user=user).prefetch_related(
        Prefetch("remote_settings", queryset=RemoteControlSetting.all_objects.order_by("name", "pk")),
        Prefetch("pin_codes", queryset=PinCode.all_objects.order_by("created_at", "pk")),
    )
    now = timezone.now()
    return {
        "devices": [
            {
                "name": device.name,
                "kind": device.get_kind_display(),
                "serial_number": device.serial_number,
                "unit": str(device.unit) if device.unit_id else None,
                "remote_settings": [
                    {
                        "name": remote.name,
                        "appliance_type": remote.get_appliance_type_display(),
                        "maker": remote.maker,
                        "signal_data": remote.signal_data,
                        "created_at": iso_local(remote.created_at),
                        "updated_at": iso_local(remote.updated_at),
                        "on_device": _on_device(remote),
                    }
                    for remote in device.remote_settings.all()
                ],
                "pin_codes": [
                    {
                        "label": pin_code.label,
                        "pin": PIN_MASK,
                        "valid_from": iso_local(pin_code.valid_from),
                        "valid_until": iso_local(pin_code.valid_until),
                        "state": pin_code.state(now).label,
                        "on_device": _on_device(pin_code),
                    }
                    for pin_code in device.pin_codes.all()
                ],
            }
            for device in devices
        ],
    }


def _on_device(setting: PinCode | RemoteControlSetting) -> str:
    reason = setting.get_sync_failure_display()
    state = str(setting.get_sync_state_display())
    return f"{state}（{reason}）" if reason else state


def smart_home_erase(user: User) -> SettingsPurgeRequest:
    """Deletion, smart-home side: the own devices' settings at once, the units' by a purge request.

    The units are those of every lease the account has started (captured here, inside the
    deletion's transaction, before deleting the account nulls `Lease.resident`).
    """
    started_leases = Lease.objects.filter(resident=user, start_date__lte=timezone.localdate())
    unit_ids = list(started_leases.values_list("unit_id", flat=True).distinct())
    from .services import settings_purge_request_create  # here: the services and their crypto load on use

    return settings_purge_request_create(user=user, unit_ids=unit_ids)


SMART_HOME_DATA = PersonalDataHolder(key="smart_home", export=smart_home_export, erase=smart_home_erase)
