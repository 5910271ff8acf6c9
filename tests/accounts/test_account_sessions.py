"""The session table names each session's account (accounts.sessions; issue 16, point 4)."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountSession
from accounts.services.sessions import user_sessions_end
from tests.accounts.profile_helpers import last_sms_code, signed_in
from tests.factories import ProfileFactory, ResidentFactory

pytestmark = pytest.mark.django_db


def test_the_site_s_session_engine_keeps_the_account_column():
    assert settings.SESSION_ENGINE == "accounts.sessions"


def test_a_real_sign_in_writes_the_account_and_a_sign_out_clears_it(client, django_capture_on_commit_callbacks):
    user = ProfileFactory(user=ResidentFactory(phone_number="+819012345678")).user
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"})
    before = client.session.session_key
    assert AccountSession.objects.get(session_key=before).account_id is None

    client.post(reverse("accounts:signin_code"), {"code": last_sms_code("+819012345678")})

    signed_in_key = client.session.session_key
    assert signed_in_key != before
    assert AccountSession.objects.get(session_key=signed_in_key).account_id == user.pk
    client.post(reverse("accounts:signout"))
    assert not AccountSession.objects.filter(account_id=user.pk).exists()


def test_ending_the_sessions_of_one_account_leaves_every_other_account_s():
    user, neighbour = ProfileFactory().user, ProfileFactory().user
    for _device in range(3):
        signed_in(user).get(reverse("accounts:mypage"))
    other = signed_in(neighbour)

    assert user_sessions_end(user=user) == 3

    assert not AccountSession.objects.filter(account_id=user.pk).exists()
    assert AccountSession.objects.filter(account_id=neighbour.pk).count() == 1
    assert other.get(reverse("accounts:mypage")).status_code == 200


def test_clearsessions_sweeps_expired_rows_of_the_account_table():
    client = Client()
    client.force_login(ProfileFactory().user)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        call_command("clearsessions", stdout=io.StringIO())
    assert not AccountSession.objects.exists()
