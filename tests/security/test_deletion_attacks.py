"""Attacks around account deletion and the data download (SPEC "Deletion"; ASVS V7, V8, V14)."""

from __future__ import annotations

import datetime
import json
from http import HTTPStatus

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Profile, User, VerificationTarget
from tests.accounts.verification_helpers import last_sms_code
from tests.factories import ProfileFactory
from tests.security.conftest import MYPAGE, NOW, PHONE, SIGNIN, SIGNIN_CODE, wrong
from tests.smarthome.factories import DeviceFactory, PinCodeFactory, SmartLockFactory

pytestmark = pytest.mark.django_db


def signed_in(user: User, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def delete_account(client: Client):
    client.post(reverse("accounts:deletion"), {"agree": "on"})
    return client.post(reverse("accounts:deletion_confirm"))


def test_deletion_ends_every_session_of_the_account_on_every_device():
    """A stolen session (another phone, a kept cookie) dies with the account."""
    user = ProfileFactory(user__phone_number=PHONE).user
    owner, other_device = signed_in(user), signed_in(user)
    kept_cookie = owner.cookies[settings.SESSION_COOKIE_NAME].value
    assert delete_account(owner)["Location"] == reverse("accounts:deletion_done")
    assert not User.objects.filter(pk=user.pk).exists()
    for client in (owner, other_device):
        assert client.get(MYPAGE).status_code == HTTPStatus.FOUND
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = kept_cookie
    assert replay.get(MYPAGE).status_code == HTTPStatus.FOUND


def test_cross_site_post_cannot_delete_an_account():
    """CSRF: a forged form from another site carries the cookie but not the token."""
    user = ProfileFactory().user
    browser = signed_in(user, enforce_csrf_checks=True)
    assert browser.post(reverse("accounts:deletion"), {"agree": "on"}).status_code == HTTPStatus.FORBIDDEN
    assert browser.post(reverse("accounts:deletion_confirm")).status_code == HTTPStatus.FORBIDDEN
    assert Profile.objects.filter(user=user).exists()


def test_confirm_without_the_agreement_deletes_nothing():
    user = ProfileFactory().user
    response = signed_in(user).post(reverse("accounts:deletion_confirm"))
    assert response["Location"] == reverse("accounts:deletion")
    assert Profile.objects.filter(user=user).exists()


def test_deleting_the_account_does_not_reset_the_failure_count_of_its_number(send):
    """An attacker guessing codes for a number cannot wipe its failure count by deleting and re-creating."""
    user = ProfileFactory(user__phone_number=PHONE).user
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(6):
            browser = Client()
            send(browser)
            browser.post(SIGNIN_CODE, {"code": wrong(last_sms_code(PHONE))})
            clock.shift(datetime.timedelta(hours=1, seconds=1))
        delete_account(signed_in(user))
    assert VerificationTarget.objects.get(target=PHONE).consecutive_failures == 6


def test_data_download_holds_only_the_own_account_and_no_pin():
    user = ProfileFactory(email="me@example.jp").user
    victim = ProfileFactory(email="victim@example.jp").user
    own_lock = SmartLockFactory(owner_user=user)
    PinCodeFactory(device=own_lock, pin="583920")
    DeviceFactory(owner_user=victim, name="他人のハブ")
    response = signed_in(user).get(reverse("accounts:data_download"))
    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    json.loads(body)
    assert "me@example.jp" in body
    assert "victim@example.jp" not in body and "他人のハブ" not in body
    assert "583920" not in body


def test_data_download_needs_a_signed_in_resident():
    response = Client().get(reverse("accounts:data_download"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(SIGNIN)
