"""The last sign-in time: written at every sign-in (resident or staff) by accounts.last_login's one plain UPDATE."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.last_login import last_login_record, last_login_recorded
from accounts.models import User
from tests.factories import ResidentFactory, StaffFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC)
# The receiver's own statement (accounts.last_login._last_login_sql).
RECEIVERS_UPDATE = r'UPDATE "accounts_user" SET "last_login" = [^,]+ WHERE "id" = '


def test_ours_replaces_djangos_receiver_of_the_sign_in_signal():
    receivers = [receiver() for _key, receiver, *_rest in user_logged_in.receivers]

    assert last_login_record in receivers
    assert update_last_login not in receivers


@pytest.mark.parametrize("make", [ResidentFactory, StaffFactory], ids=["resident", "staff"])
def test_a_sign_in_records_its_time_on_the_account_in_one_statement(make, django_assert_num_queries):
    user = make()
    other = make()

    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        last_login_record(sender=User, user=user)

    assert len(queries.captured_queries) == 1
    assert re.match(RECEIVERS_UPDATE, queries.captured_queries[0]["sql"])
    assert user.last_login == NOW
    assert User.objects.get(pk=user.pk).last_login == NOW
    assert User.objects.get(pk=other.pk).last_login is None


def test_force_login_goes_through_it(client: Client):
    user = ResidentFactory()

    with time_machine.travel(NOW, tick=False):
        client.force_login(user)

    assert User.objects.get(pk=user.pk).last_login == NOW


def test_an_instance_marked_as_recorded_is_not_written_again_by_its_next_login(django_assert_num_queries):
    user = ResidentFactory(last_login=NOW)
    last_login_recorded(user)

    with django_assert_num_queries(0):
        last_login_record(sender=User, user=user)
    assert user.last_login == NOW

    later = NOW + datetime.timedelta(hours=1)
    with time_machine.travel(later, tick=False), django_assert_num_queries(1):
        last_login_record(sender=User, user=user)  # the mark served one login
    assert User.objects.get(pk=user.pk).last_login == later


def test_a_mark_left_behind_by_a_changed_time_does_not_stop_the_write():
    user = ResidentFactory(last_login=NOW)
    last_login_recorded(user)
    user.last_login = None

    later = NOW + datetime.timedelta(hours=1)
    with time_machine.travel(later, tick=False):
        last_login_record(sender=User, user=user)

    assert User.objects.get(pk=user.pk).last_login == later


@pytest.mark.parametrize("returning", [True, False], ids=["returning_resident", "first_sign_in"])
def test_a_resident_sign_in_by_code_records_its_time_with_its_own_statement(
    client, returning, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from tests.accounts.verification_helpers import last_sms_code

    phone = "+819012345678"
    if returning:
        ResidentFactory(phone_number=phone, last_login=NOW - datetime.timedelta(days=3))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"})
    later = NOW + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("accounts:signin_code"), {"code": last_sms_code(phone)})

    assert response.status_code == 302
    assert User.objects.get(phone_number=phone).last_login == later
    # Written by the sign-in's own statement (the account's locking read, or its INSERT), so
    # login()'s receiver writes nothing more.
    receivers = [query["sql"] for query in queries.captured_queries if re.match(RECEIVERS_UPDATE, query["sql"])]
    assert receivers == []
