"""Reads of the tenancy room (HackSoft selectors): nothing here changes data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from myspacecore.tenancy.models import Operator

if TYPE_CHECKING:
    from accounts.models import User


# The operator of the latest current lease (`Lease.objects.current()`: started, not ended).
# Plain SQL: building the ORM's lease -> unit -> property -> operator select_related took
# ~1.5 ms of CPU per edit page, about ten times running it (bench/README.md, pages.py).
_OPERATOR_CONTACT_SQL = """
    SELECT * FROM accounts_operator WHERE id = (
        SELECT p.operator_id FROM accounts_lease l
        JOIN accounts_unit u ON u.id = l.unit_id
        JOIN accounts_property p ON p.id = u.property_id
        WHERE l.resident_id = %s AND l.start_date <= %s AND (l.end_date IS NULL OR l.end_date >= %s)
        ORDER BY l.start_date DESC, l.id DESC
        LIMIT 1
    )
"""


def operator_contact_for_user(*, user: User) -> Operator | None:
    """The operator of the unit of the account's current lease (the company to call), if any."""
    today = timezone.localdate()
    return next(iter(Operator.objects.raw(_OPERATOR_CONTACT_SQL, [user.pk, today, today])), None)
