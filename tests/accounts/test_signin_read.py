"""The sign-in's one-statement read of the account (accounts.services.signin) against the ORM rules
it stands for: `user_attribute_derived` and `lease_invitations_exist`, on the leases that decide them,
and the sign-in time it writes with it."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.services.attributes import user_attribute_derived, user_attribute_derived_sql
from accounts.services.signin import _resident_signing_in
from myspacecore.tenancy.models import Lease
from myspacecore.tenancy.selectors import lease_invitations_exist
from myspacecore.tenancy.sql import column, table
from tests.factories import LeaseFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db

PHONE = "+819012340000"
DAY = datetime.timedelta(days=1)


def today() -> datetime.date:
    return timezone.localdate()


# Each: the leases of the account (attribute, start offset in days, end offset or None, accepted?).
LEASE_SETS = {
    "none": [],
    "accepted_rental_in_force": [("rental_resident", -30, None, True)],
    "accepted_rental_ends_today": [("rental_resident", -30, 0, True)],
    "accepted_rental_ended_yesterday": [("rental_resident", -30, -1, True)],
    "accepted_rental_starts_tomorrow": [("rental_resident", 1, None, True)],
    "accepted_rental_starts_today": [("rental_resident", 0, None, True)],
    "managed_beats_rental": [("rental_resident", -30, None, True), ("managed", -10, None, True)],
    "ended_managed_and_rental": [("managed", -30, -2, True), ("rental_resident", -30, None, True)],
    "pending_managed_grants_nothing": [("managed", -30, None, False), ("rental_resident", -30, None, True)],
    "only_pending": [("rental_resident", -30, None, False)],
}


def account_with(leases) -> User:
    user = ResidentFactory(phone_number=PHONE, attribute=attribute("owner"))
    for code, start, end, accepted in leases:
        LeaseFactory(
            phone_number=PHONE,
            attribute=attribute(code),
            start_date=today() + start * DAY,
            end_date=None if end is None else today() + end * DAY,
            resident=user if accepted else None,
        )
    # Someone else's accepted lease, of the highest precedence: never this account's.
    LeaseFactory(attribute=attribute("managed"), resident=ResidentFactory())
    return user


def derived_by_sql(user: User, on: datetime.date) -> int:
    fragment, params = user_attribute_derived_sql(column("account", User, "id"), on)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {fragment} FROM {table(User)} account WHERE {column('account', User, 'id')} = %s",  # noqa: S608
            [*params, user.pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("leases", LEASE_SETS.values(), ids=LEASE_SETS.keys())
def test_the_derived_attribute_in_sql_is_the_orms_on_every_lease_set(leases):
    user = account_with(leases)

    assert derived_by_sql(user, today()) == user_attribute_derived(user=user).pk


@pytest.mark.parametrize("leases", LEASE_SETS.values(), ids=LEASE_SETS.keys())
def test_the_sign_in_read_carries_the_orms_attribute_and_invitations_flag(leases):
    user = account_with(leases)

    read = _resident_signing_in(PHONE)

    assert read.pk == user.pk
    assert read.derived_attribute_id == user_attribute_derived(user=user).pk
    assert read.invitations_pending is lease_invitations_exist(phone_number=PHONE)


@pytest.mark.parametrize(
    ("acceptance", "end", "expected"),
    [
        (Lease.Acceptance.PENDING, None, True),
        (Lease.Acceptance.PENDING, 0, True),
        (Lease.Acceptance.PENDING, -1, False),
        (Lease.Acceptance.DECLINED, None, False),
    ],
)
def test_the_sign_in_read_sees_the_invitations_the_selector_sees(acceptance, end, expected):
    ResidentFactory(phone_number=PHONE)
    LeaseFactory(
        phone_number=PHONE,
        acceptance=acceptance,
        start_date=today() - 30 * DAY,
        end_date=None if end is None else today() + end * DAY,
    )
    LeaseFactory()  # pending, for another number

    assert lease_invitations_exist(phone_number=PHONE) is expected
    assert _resident_signing_in(PHONE).invitations_pending is expected


def test_the_sign_in_read_finds_no_account_for_an_unknown_number():
    ResidentFactory()

    assert _resident_signing_in(PHONE) is None


def test_the_sign_in_read_is_one_statement(django_assert_num_queries):
    account_with(LEASE_SETS["managed_beats_rental"])

    with django_assert_num_queries(1):
        _resident_signing_in(PHONE)


NOW = datetime.datetime(2026, 12, 3, 4, 5, 6, 789012, tzinfo=datetime.UTC)


def test_the_sign_in_read_writes_the_sign_in_time_of_an_active_account_and_marks_it_written():
    user = account_with(LEASE_SETS["accepted_rental_in_force"])
    other = ResidentFactory()

    with time_machine.travel(NOW, tick=False):
        read = _resident_signing_in(PHONE)

    assert read.last_login == NOW
    assert User.objects.get(pk=user.pk).last_login == NOW
    assert User.objects.get(pk=other.pk).last_login is None
    assert read._last_login_recorded == NOW


def test_the_sign_in_read_leaves_a_deactivated_accounts_time_as_it_was():
    before = NOW - 10 * DAY
    user = ResidentFactory(phone_number=PHONE, is_active=False, last_login=before)

    with time_machine.travel(NOW, tick=False):
        read = _resident_signing_in(PHONE)

    assert read.pk == user.pk and read.is_active is False
    assert read.last_login == before
    assert User.objects.get(pk=user.pk).last_login == before
    assert not hasattr(read, "_last_login_recorded")


@pytest.mark.parametrize(
    ("acceptance", "end", "expected"),
    [
        (Lease.Acceptance.PENDING, None, True),
        (Lease.Acceptance.PENDING, -1, False),
        (Lease.Acceptance.DECLINED, None, False),
    ],
)
def test_a_first_sign_in_reads_the_owner_attribute_and_the_selectors_invitations_flag(acceptance, end, expected):
    from accounts.services.signin import _default_attribute_and_invitations

    LeaseFactory(phone_number=PHONE, acceptance=acceptance, end_date=None if end is None else today() + end * DAY)

    owner, invitations_pending = _default_attribute_and_invitations(PHONE)

    assert owner == attribute("owner") and owner.code == "owner"
    assert invitations_pending is lease_invitations_exist(phone_number=PHONE) is expected
