"""Session attacks (ASVS V7): fixation, CSRF-token reuse, stolen cookies after sign-out or a phone change."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.accounts.verification_helpers import last_sms_code
from tests.factories import ProfileFactory, ResidentFactory, attribute
from tests.security.conftest import MYPAGE, NOW, PHONE, SIGNIN

pytestmark = pytest.mark.django_db

NEW_PHONE = "+819087654321"


def with_cookie(key: str) -> Client:
    """A browser presenting a stolen or planted session cookie."""
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(MYPAGE).status_code == HTTPStatus.OK


def test_session_fixation_planted_key_is_replaced_at_sign_in(send, sign_in):
    """The attacker starts a session, plants its key in the victim's browser, waits for the sign-in."""
    attacker = Client()
    send(attacker, "090-8765-0000")
    planted = attacker.session.session_key
    victim = with_cookie(planted)
    ProfileFactory(user=ResidentFactory(phone_number=PHONE))
    with time_machine.travel(NOW, tick=False):
        assert sign_in(victim).url == MYPAGE
    assert victim.session.session_key != planted
    assert is_signed_in(victim)
    assert not is_signed_in(attacker)
    assert not is_signed_in(with_cookie(planted))


def test_csrf_token_is_rotated_at_sign_in(client, sign_in):
    """A CSRF token read before the sign-in (e.g. on a shared device) is worthless after it."""
    before = client.get(SIGNIN).cookies[settings.CSRF_COOKIE_NAME].value
    response = sign_in(client)
    after = response.cookies[settings.CSRF_COOKIE_NAME].value
    assert after and after != before


def test_session_key_and_csrf_token_are_rotated_over_an_existing_sign_in(client, send):
    """Signing in again while signed in (same account) still gets a new key and a new token."""
    user = ProfileFactory(user=ResidentFactory(phone_number=PHONE)).user
    client.force_login(user)
    key = client.session.session_key
    client.get(SIGNIN)
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert csrf
    with time_machine.travel(NOW, tick=False):
        send(client)
        response = client.post(reverse("accounts:signin_code"), {"code": last_sms_code(PHONE)})
    assert response.url == MYPAGE
    assert client.session.session_key != key
    assert client.session[SESSION_KEY] == str(user.pk)
    assert response.cookies[settings.CSRF_COOKIE_NAME].value != csrf
    assert not is_signed_in(with_cookie(key))


def test_stolen_cookie_is_dead_after_sign_out(client):
    client.force_login(ProfileFactory().user)
    stolen = client.session.session_key
    assert is_signed_in(with_cookie(stolen))
    assert client.post(reverse("accounts:signout")).status_code == HTTPStatus.FOUND
    assert not is_signed_in(with_cookie(stolen))
    assert not is_signed_in(client)


def test_phone_change_ends_the_other_sessions_of_the_account(django_capture_on_commit_callbacks):
    """A phone thief's session on another device ends when the owner changes the number."""
    user = ProfileFactory(user=ResidentFactory(phone_number=PHONE, attribute=attribute("owner"))).user
    owner, thief = Client(), Client()
    owner.force_login(user)
    thief.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("accounts:profile_phone"), {"phone_number": "090-8765-4321"})
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(reverse("accounts:profile_phone_verify"), {"code": last_sms_code(NEW_PHONE)})
    assert response.url == reverse("accounts:profile")
    assert is_signed_in(owner)
    assert not is_signed_in(thief)
