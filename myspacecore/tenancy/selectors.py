"""Reads of the tenancy room (HackSoft selectors): nothing here changes data."""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Field
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from myspacecore.tenancy.models import Lease, LeaseQuerySet, Operator, Property, Unit
from myspacecore.tenancy.sql import lease_in_force_sql, lease_invitations_exist_sql, model_from_row, select_list, table

if TYPE_CHECKING:
    from accounts.models import User


# The operator of the latest lease in force (`Lease.objects.in_force()`), in one statement.
# Plain SQL: building the ORM's lease -> unit -> property -> operator select_related took
# about ten times running it on every edit page (bench/README.md, pages.py). One key at a
# time (lease -> unit -> property -> operator), not a join: PostgreSQL plans each step as one
# primary-key lookup, at 0.1 ms of its CPU where the three-way join took 0.23 ms.
def _operator_contact_sql(*, user_id: int, on: datetime.date) -> tuple[str, list[Any]]:
    _in_force, params = lease_in_force_sql("l", on)
    return _operator_contact_statement(connection.vendor), [user_id, *params]


@functools.cache
def _operator_contact_statement(vendor: str) -> str:
    # Built once per process: the lease rule's day is a parameter, its fragment is the same.
    in_force, _params = lease_in_force_sql("l", datetime.date.min)
    return f"""
        SELECT {select_list(table(Operator), Operator)} FROM {table(Operator)} WHERE id = (
            SELECT operator_id FROM {table(Property)} WHERE id = (
                SELECT property_id FROM {table(Unit)} WHERE id = (
                    SELECT l.unit_id FROM {table(Lease)} l
                    WHERE l.resident_id = %s AND {in_force}
                    ORDER BY l.start_date DESC, l.id DESC
                    LIMIT 1
                )
            )
        )
    """  # noqa: S608 - names from the models' _meta, values are parameters


def operator_contact_for_user(*, user: User) -> Operator | None:
    """The operator of the unit of the account's current lease (the company to call), if any."""
    sql, params = _operator_contact_sql(user_id=user.pk, on=timezone.localdate())
    # Read as the other plain reads are (RawQuerySet maps its columns to the model again for
    # every query: about half of this read's CPU).
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return model_from_row(Operator, row) if row is not None else None


def lease_invitations_for(*, phone_number: str | PhoneNumber) -> list[Lease]:
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


def lease_invitations_exist(*, phone_number: str | PhoneNumber) -> bool:
    """Whether any lease waits for this number's answer (`lease_invitations(…).exists()`).

    Plain SQL, one indexed EXISTS (`lease_invitations_exist_sql`, also read by the sign-in): My
    page asks it on every visit and nearly always hears no; the ORM took 0.4 ms of CPU to build
    it, and 0.8 ms for `lease_invitations_for`'s join (bench/README.md, pages.py). An account's
    number is given as its PhoneNumber: its national text (`str()`) would be parsed back here."""
    field = Lease._meta.get_field("phone_number")
    assert isinstance(field, Field)
    exists, params = lease_invitations_exist_sql(field.get_prep_value(phone_number), timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {exists}", params)
        return bool(cursor.fetchone()[0])
