"""Account enumeration: telling from the answers which numbers and addresses have an account."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from phonenumber_field.phonenumber import PhoneNumber

from tests.accounts.verification_helpers import last_sms_code
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, attribute
from tests.security.conftest import NOW, SIGNIN, SIGNIN_CODE, wrong

pytestmark = pytest.mark.django_db

# Same last four digits, so the masked number on the code page (+81******0001) is the same too.
WITH_PROFILE = "+819012340001"
ON_A_ROSTER_ONLY = "+819055550001"
UNKNOWN = "+819087650001"


def page_text(response, phone: str) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    # The phone field repeats the number the visitor typed: the only difference allowed.
    return html.replace(PhoneNumber.from_string(phone).as_national, "NUMBER")


def test_known_and_unknown_numbers_at_sign_in_get_the_same_answers(send):
    """Same status, redirect and page for a number with an account, one on a roster only, and an unknown one."""
    ProfileFactory(user=ResidentFactory(phone_number=WITH_PROFILE))
    LeaseFactory(phone_number=ON_A_ROSTER_ONLY)
    answers = {}
    for phone in (WITH_PROFILE, ON_A_ROSTER_ONLY, UNKNOWN):
        browser = Client()
        with time_machine.travel(NOW, tick=False):
            sent = send(browser, PhoneNumber.from_string(phone).as_national)
            code_page = browser.get(SIGNIN_CODE)
            failed = browser.post(SIGNIN_CODE, {"code": wrong(last_sms_code(phone))})
            back = browser.get(SIGNIN)
            again = send(browser, PhoneNumber.from_string(phone).as_national)
        answers[phone] = [
            (response.status_code, response.get("Location"), page_text(response, phone))
            for response in (sent, code_page, failed, back, again)
        ]
    assert answers[WITH_PROFILE] == answers[UNKNOWN]
    assert answers[ON_A_ROSTER_ONLY] == answers[UNKNOWN]


def _send_answer(capture, client: Client, url: str, field: str, value: str) -> tuple[int, str | None]:
    with capture(execute=True):
        response = client.post(url, {field: value})
    return response.status_code, response.get("Location")


def _resident_client() -> Client:
    client = Client()
    client.force_login(ProfileFactory(user__attribute=attribute("owner")).user)
    return client


def test_taken_and_free_addresses_at_email_change_get_the_same_answer(django_capture_on_commit_callbacks):
    """Whether an account uses the address is told only after its code is entered, never at send."""
    ProfileFactory(email="taken@example.jp")
    url = reverse("accounts:profile_email")
    taken = _send_answer(django_capture_on_commit_callbacks, _resident_client(), url, "email", "taken@example.jp")
    free = _send_answer(django_capture_on_commit_callbacks, _resident_client(), url, "email", "free@example.jp")
    assert taken == free == (HTTPStatus.FOUND, reverse("accounts:profile_email_verify"))


def test_taken_and_free_addresses_at_registration_get_the_same_answer(django_capture_on_commit_callbacks):
    ProfileFactory(email="taken@example.jp")
    answers = []
    for address in ("taken@example.jp", "free@example.jp"):
        client = Client()
        client.force_login(ResidentFactory(attribute=attribute("owner")))
        client.post(reverse("accounts:register"), {"nickname": "さくら", "birth_year": 1990, "gender": "female"})
        url = reverse("accounts:register_email")
        answers.append(_send_answer(django_capture_on_commit_callbacks, client, url, "email", address))
    assert answers[0] == answers[1] == (HTTPStatus.FOUND, reverse("accounts:register_code"))


def test_taken_and_free_numbers_at_phone_change_get_the_same_answer(django_capture_on_commit_callbacks):
    taken_number = PhoneNumber.from_string(ResidentFactory().phone_number.as_e164).as_national
    url = reverse("accounts:profile_phone")
    taken = _send_answer(django_capture_on_commit_callbacks, _resident_client(), url, "phone_number", taken_number)
    free = _send_answer(django_capture_on_commit_callbacks, _resident_client(), url, "phone_number", "090-7777-0001")
    assert taken == free == (HTTPStatus.FOUND, reverse("accounts:profile_phone_verify"))
