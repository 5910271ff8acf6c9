"""The language choice outlives the browser session and follows the account (issue 16, point 2)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.accounts.profile_helpers import last_sms_code, signed_in
from tests.factories import ProfileFactory, ResidentFactory, StaffFactory

pytestmark = pytest.mark.django_db

SWITCH = reverse("set_language")
YEAR = 60 * 60 * 24 * 365


def switch(client: Client, language: str):
    return client.post(SWITCH, {"language": language, "next": reverse("accounts:mypage")})


def test_the_language_cookie_lives_a_year_not_only_the_browser_session(client):
    response = switch(client, "en")
    assert response.status_code == HTTPStatus.FOUND
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["max-age"] == YEAR


def test_a_signed_in_resident_s_choice_is_kept_on_the_account():
    user = ProfileFactory().user
    assert user.language == "ja"
    switch(signed_in(user), "en")
    assert User.objects.get(pk=user.pk).language == "en"


def test_a_language_the_site_does_not_offer_changes_neither_cookie_nor_account():
    user = ProfileFactory().user
    response = switch(signed_in(user), "fr")
    assert User.objects.get(pk=user.pk).language == "ja"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_signed_out_the_choice_is_only_the_cookie(client):
    user = ResidentFactory()
    switch(client, "en")
    assert User.objects.get(pk=user.pk).language == "ja"


def test_a_staff_member_s_switch_changes_no_account():
    staff = StaffFactory()
    switch(signed_in(staff), "en")
    assert User.objects.get(pk=staff.pk).language == "ja"


def test_sign_in_applies_the_account_s_language_on_a_new_browser(client, django_capture_on_commit_callbacks):
    user = ProfileFactory(user=ResidentFactory(phone_number="+819012345678", language="en")).user
    # A new browser: no language cookie, Japanese pages.
    assert '<html lang="ja"' in client.get(reverse("accounts:signin")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"})

    response = client.post(reverse("accounts:signin_code"), {"code": last_sms_code(user.phone_number.as_e164)})

    assert response.status_code == HTTPStatus.FOUND
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert (cookie.value, cookie["max-age"]) == ("en", YEAR)
    assert '<html lang="en"' in client.get(reverse("accounts:mypage")).content.decode()


def test_a_new_account_keeps_the_language_it_signed_up_in(client, django_capture_on_commit_callbacks):
    switch(client, "en")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5679"})
    client.post(reverse("accounts:signin_code"), {"code": last_sms_code("+819012345679")})
    assert User.objects.get(phone_number="+819012345679").language == "en"
