"""The "your data" download (APPI disclosure): everything MySpaceCore holds about an account.

A read (selector), kept beside the deletion service because both answer the same
question: what is this account's data. PINs are never disclosed, not even to their
owner: only that they exist, their label and window (SPEC "Smart home").
"""

from __future__ import annotations

import datetime

from django.db.models import Prefetch
from django.utils import timezone

from accounts.models import Lease, Profile, User
from myspacecore.core.masking import PIN_MASK
from smarthome.models import PinCode, RemoteControlSetting
from smarthome.selectors import devices_for_user

EXPORT_FORMAT_VERSION = 1


def _iso(value: datetime.datetime | datetime.date | None) -> str | None:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat() if value is not None else None


def user_data_export(*, user: User) -> dict:
    """The account, its profile, its roster entries and the smart-home settings it can see."""
    profile = Profile.objects.filter(user=user).first()
    leases = Lease.objects.filter(resident=user).select_related("unit__property__operator").order_by("start_date", "pk")
    devices = devices_for_user(user=user).prefetch_related(
        Prefetch("remote_settings", queryset=RemoteControlSetting.objects.order_by("name", "pk")),
        Prefetch("pin_codes", queryset=PinCode.objects.order_by("created_at", "pk")),
    )
    now = timezone.now()
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": _iso(now),
        "account": {
            "phone_number": str(user.phone_number) if user.phone_number else None,
            "attribute": str(user.attribute) if user.attribute else None,
            "language": user.language,
            "date_joined": _iso(user.date_joined),
        },
        "profile": None
        if profile is None
        else {
            "nickname": profile.nickname,
            "birth_year": profile.birth_year,
            "gender": profile.get_gender_display(),
            "email": profile.email,
            "created_at": _iso(profile.created_at),
            "updated_at": _iso(profile.updated_at),
        },
        "leases": [
            {
                "operator": lease.unit.property.operator.name,
                "property": lease.unit.property.name,
                "unit": lease.unit.number,
                "start_date": _iso(lease.start_date),
                "end_date": _iso(lease.end_date),
            }
            for lease in leases
        ],
        "smart_home": {
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
                            "created_at": _iso(remote.created_at),
                            "updated_at": _iso(remote.updated_at),
                        }
                        for remote in device.remote_settings.all()
                    ],
                    "pin_codes": [
                        {
                            "label": pin_code.label,
                            "pin": PIN_MASK,
                            "valid_from": _iso(pin_code.valid_from),
                            "valid_until": _iso(pin_code.valid_until),
                            "state": pin_code.state(now).label,
                        }
                        for pin_code in device.pin_codes.all()
                    ],
                }
                for device in devices
            ],
        },
    }
