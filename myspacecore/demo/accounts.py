"""Demo accounts and roster: an operator, its property and units, leases, staff, residents.

Idempotent (update_or_create on natural keys), refused unless settings allow it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import User, UserAttribute
from myspacecore.tenancy.models import Lease, Operator, Property, Unit

DEMO_STAFF_USERNAME = "demo-admin"
DEMO_STAFF_PASSWORD = "demo-admin-password"  # noqa: S105 - local demo only, never in production
# The demo operator's own admin (group operator_admin): sees only さくら不動産管理's data.
DEMO_OPERATOR_ADMIN_USERNAME = "demo-operator"
DEMO_OPERATOR_ADMIN_PASSWORD = "demo-operator-password"  # noqa: S105 - local demo only
# The rental resident whose account exists already, so the console has a resident to serve.
DEMO_LINKED_RESIDENT_PHONE = "+819011110002"

# (phone, attribute code, unit number, lease start offset days, lease end offset days or None)
DEMO_RESIDENTS = [
    ("090-1111-0001", "owner", None, None, None),
    ("090-1111-0002", "rental_resident", "101", -365, None),
    ("090-1111-0003", "managed", "102", -30, 365),
    ("090-1111-0004", "rental_resident", "201", -730, -10),
]


@dataclass
class DemoAccounts:
    operator: Operator
    property: Property
    units: dict[str, Unit]
    leases: list[Lease]


@transaction.atomic
def demo_accounts_seed(*, today: datetime.date | None = None) -> DemoAccounts:
    """Create (or bring back to their demo state) the operator, roster and staff account."""
    today = today or timezone.localdate()
    operator, _ = Operator.objects.update_or_create(
        name="さくら不動産管理株式会社",
        defaults={
            "contact_phone": "0120-000-000",
            "contact_email": "support@sakura-kanri.example.jp",
            "contact_hours": "平日 9:00〜18:00",
        },
    )
    prop, _ = Property.objects.update_or_create(
        operator=operator, name="メゾン桜ヶ丘", defaults={"address": "東京都世田谷区桜丘1-2-3"}
    )
    units = {
        number: Unit.objects.get_or_create(property=prop, number=number)[0] for number in ("101", "102", "201", "202")
    }
    leases = []
    for phone, attribute_code, unit_number, start, end in DEMO_RESIDENTS:
        if unit_number is None or start is None:  # an owner: no lease
            continue
        lease, _ = Lease.objects.update_or_create(
            unit=units[unit_number],
            phone_number=phone,
            defaults={
                "attribute": UserAttribute.objects.get(code=attribute_code),
                "start_date": today + datetime.timedelta(days=start),
                "end_date": today + datetime.timedelta(days=end) if end is not None else None,
            },
        )
        leases.append(lease)

    staff = User.objects.filter(username=DEMO_STAFF_USERNAME).first()
    if staff is None:
        User.objects.create_superuser(username=DEMO_STAFF_USERNAME, password=DEMO_STAFF_PASSWORD)
    _demo_operator_console_seed(operator=operator, leases=leases)
    return DemoAccounts(operator=operator, property=prop, units=units, leases=leases)


def _demo_operator_console_seed(*, operator: Operator, leases: list[Lease]) -> None:
    """The operator admin account, and one resident account that accepted its lease."""
    from django.contrib.auth.models import Group

    operator_admin = User.objects.filter(username=DEMO_OPERATOR_ADMIN_USERNAME).first()
    if operator_admin is None:
        operator_admin = User.objects.create_user(
            username=DEMO_OPERATOR_ADMIN_USERNAME,
            password=DEMO_OPERATOR_ADMIN_PASSWORD,
            operator=operator,
            is_staff=True,
        )
    operator_admin.groups.set([Group.objects.get(name="operator_admin")])
    lease = next(lease for lease in leases if lease.phone_number.as_e164 == DEMO_LINKED_RESIDENT_PHONE)
    resident, _ = User.objects.get_or_create(
        phone_number=DEMO_LINKED_RESIDENT_PHONE, defaults={"attribute": lease.attribute}
    )
    if lease.resident_id != resident.pk:
        # As if the resident had accepted the operator's entry at an earlier sign-in.
        lease.resident = resident
        lease.acceptance = Lease.Acceptance.ACCEPTED
        lease.answered_at = timezone.now()
        lease.save(update_fields=["resident", "acceptance", "answered_at"])
