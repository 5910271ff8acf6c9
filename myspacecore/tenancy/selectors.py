"""Reads of the tenancy room (HackSoft selectors): nothing here changes data."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from myspacecore.tenancy.models import Lease, LeaseQuerySet, Operator, Property, Unit
from myspacecore.tenancy.sql import lease_in_force_sql, table

if TYPE_CHECKING:
    from accounts.models import User


# The operator of the latest lease in force (`Lease.objects.in_force()`), in one statement.
# Plain SQL: building the ORM's lease -> unit -> property -> operator select_related took
# about ten times running it on every edit page (bench/README.md, pages.py).
def _operator_contact_sql(*, user_id: int, on: datetime.date) -> tuple[str, list[object]]:
    in_force, params = lease_in_force_sql("l", on)
    sql = f"""
        SELECT * FROM {table(Operator)} WHERE id = (
            SELECT p.operator_id FROM {table(Lease)} l
            JOIN {table(Unit)} u ON u.id = l.unit_id
            JOIN {table(Property)} p ON p.id = u.property_id
            WHERE l.resident_id = %s AND {in_force}
            ORDER BY l.start_date DESC, l.id DESC
            LIMIT 1
        )
    """  # noqa: S608 - names from the models' _meta, values are parameters
    return sql, [user_id, *params]


def operator_contact_for_user(*, user: User) -> Operator | None:
    """The operator of the unit of the account's current lease (the company to call), if any."""
    sql, params = _operator_contact_sql(user_id=user.pk, on=timezone.localdate())
    return next(iter(Operator.objects.raw(sql, params)), None)


def lease_invitations_for(*, phone_number: str) -> list[Lease]:
    """The pending, not yet ended leases naming `phone_number`, with their unit, property and operator."""
    today = timezone.localdate()
    return list(
        Lease.objects.filter(phone_number=phone_number, acceptance=Lease.Acceptance.PENDING)
        .not_ended(today)
        .select_related("unit__property__operator")
        .order_by("start_date", "pk")
    )


def lease_invitations(*, phone_number: str) -> LeaseQuerySet:
    """The leases waiting for this number's answer: pending, not yet ended."""
    today = timezone.localdate()
    return Lease.objects.filter(phone_number=phone_number, acceptance=Lease.Acceptance.PENDING).not_ended(today)


def lease_invitations_exist(*, phone_number: str) -> bool:
    """Whether any lease waits for this number's answer (one indexed EXISTS)."""
    return lease_invitations(phone_number=phone_number).exists()
