"""The "your data" download (APPI disclosure): everything MySpaceCore holds about an account.

A read (selector), kept beside the deletion service because both answer the same
question: what is this account's data. The rooms that keep more of it (smart home)
add their part through `myspacecore.core.personal_data`.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Profile, User
from myspacecore.core.personal_data import personal_data_holders
from myspacecore.core.timestamps import iso_local
from myspacecore.tenancy.models import Lease

EXPORT_FORMAT_VERSION = 1


def user_data_export(*, user: User) -> dict:
    """The account, its profile, its roster entries, and each other room's part (the smart-home settings it can see)."""
    profile = Profile.objects.filter(user=user).first()
    leases = Lease.objects.filter(resident=user).select_related("unit__property__operator").order_by("start_date", "pk")
    now = timezone.now()
    data = {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": iso_local(now),
        "account": {
            "phone_number": str(user.phone_number) if user.phone_number else None,
            "attribute": str(user.attribute) if user.attribute else None,
            "language": user.language,
            "date_joined": iso_local(user.date_joined),
        },
        "profile": None
        if profile is None
        else {
            "nickname": profile.nickname,
            "birth_year": profile.birth_year,
            "gender": profile.get_gender_display(),
            "email": profile.email,
            "created_at": iso_local(profile.created_at),
            "updated_at": iso_local(profile.updated_at),
        },
        "leases": [
            {
                "operator": lease.unit.property.operator.name,
                "property": lease.unit.property.name,
                "unit": lease.unit.number,
                "start_date": iso_local(lease.start_date),
                "end_date": iso_local(lease.end_date),
            }
            for lease in leases
        ],
    }
    # The rooms that keep data about the account add their part (smart_home: devices,
    # remotes, PINs masked), each under its own key.
    for holder in personal_data_holders():
        data[holder.key] = holder.export(user)
    return data
