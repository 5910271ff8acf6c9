"""The last sign-in time: written at every sign-in (resident or staff) by accounts.last_login's one plain UPDATE."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_logged_in
from django.test import Client

from accounts.last_login import last_login_record
from accounts.models import User
from tests.factories import ResidentFactory, StaffFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC)


def test_ours_replaces_djangos_receiver_of_the_sign_in_signal():
    receivers = [receiver() for _key, receiver, *_rest in user_logged_in.receivers]

    assert last_login_record in receivers
    assert update_last_login not in receivers


@pytest.mark.parametrize("make", [ResidentFactory, StaffFactory], ids=["resident", "staff"])
def test_a_sign_in_records_its_time_on_the_account_in_one_statement(make, django_assert_num_queries):
    user = make()
    other = make()

    with time_machine.travel(NOW, tick=False), django_assert_num_queries(1):
        last_login_record(sender=User, user=user)

    assert user.last_login == NOW
    assert User.objects.get(pk=user.pk).last_login == NOW
    assert User.objects.get(pk=other.pk).last_login is None


def test_force_login_goes_through_it(client: Client):
    user = ResidentFactory()

    with time_machine.travel(NOW, tick=False):
        client.force_login(user)

    assert User.objects.get(pk=user.pk).last_login == NOW
