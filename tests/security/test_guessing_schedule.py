"""The wait after wrong codes (issue 16.1, 17.7), through the real pages with frozen time: a
resident's typos cost a minute, an attacker's guesses cost days, and the count lives in the
database, so emptying the cache (a Redis restart without persistence) changes nothing."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import sms
from accounts.models import VerificationTarget
from tests.accounts.verification_helpers import last_email_code, last_sms_code
from tests.factories import ProfileFactory, attribute
from tests.security.conftest import NOW, PHONE, PHONE_NATIONAL, SIGNIN, SIGNIN_CODE, client_from, wrong

pytestmark = pytest.mark.django_db

TYPING = datetime.timedelta(seconds=10)  # reading the SMS and typing six digits


def test_resident_with_five_typos_then_the_right_code_signs_in_within_3_minutes(send):
    """One try per code stays: each typo burns the code. The resident asks for a new code as
    soon as the page allows and signs in well within 3 minutes of the fifth typo; each page
    said why the resident waits and until when."""
    resident = client_from("198.51.100.20")
    with time_machine.travel(NOW, tick=False) as clock:
        for typo in range(1, 6):
            assert send(resident).status_code == HTTPStatus.FOUND, typo
            clock.shift(TYPING)
            resident.post(SIGNIN_CODE, {"code": wrong(last_sms_code(PHONE))})
            page = resident.get(SIGNIN).content.decode()
            assert "認証コードが正しくありません。" in page
            assert "以降に新しい認証コードを送信して、やり直してください（あと30秒）。" in page
            assert (f"{typo}回続けてまちがえたため、" in page) is (typo > 1)
            fifth_typo = timezone.now()
            clock.shift(VerificationTarget.objects.get(target=PHONE).wait_until - fifth_typo)
        assert timezone.now() - fifth_typo == datetime.timedelta(seconds=30)
        assert send(resident).status_code == HTTPStatus.FOUND
        clock.shift(TYPING)
        resident.post(SIGNIN_CODE, {"code": last_sms_code(PHONE)})
        signed_in_after = timezone.now() - fifth_typo
    assert SESSION_KEY in resident.session
    assert signed_in_after == datetime.timedelta(seconds=40) <= datetime.timedelta(minutes=3)
    assert len(sms.outbox) == 6
    assert VerificationTarget.objects.get(target=PHONE).consecutive_failures == 0


def test_attacker_maximising_guesses_over_24_hours_gets_at_most_100(send):
    """A fresh address and session for every guess, each code asked for the moment any wait or
    limit allows: the failure table (in the database) and the per-number send limit (in the
    cache) leave fewer than NIST SP 800-63B-4's 100, and the number is not locked within a day."""
    guesses = 0
    with time_machine.travel(NOW, tick=False) as clock:
        end = NOW + datetime.timedelta(days=1)
        while timezone.now() < end:
            attacker = client_from(f"10.{guesses // 250}.{guesses % 250}.9")
            response = send(attacker, PHONE_NATIONAL)
            if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
                clock.shift(datetime.timedelta(seconds=int(response["Retry-After"])))
                continue
            assert response.status_code == HTTPStatus.FOUND
            attacker.post(SIGNIN_CODE, {"code": wrong(last_sms_code(PHONE))})
            assert SESSION_KEY not in attacker.session
            guesses += 1
    row = VerificationTarget.objects.get(target=PHONE)
    assert row.consecutive_failures == guesses
    assert 40 <= guesses <= 59 < 100
    assert len(sms.outbox) == guesses


def test_the_wait_and_the_failure_count_survive_an_emptied_cache(send):
    """17.7: clearing the cache (Redis restarted with nothing on disk) mid-attack resets the
    rate-limit windows, never the per-number failure count or its wait."""
    attacker = client_from("203.0.113.60")
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(12):
            assert send(attacker, PHONE_NATIONAL).status_code == HTTPStatus.FOUND
            attacker.post(SIGNIN_CODE, {"code": wrong(last_sms_code(PHONE))})
            clock.shift(VerificationTarget.objects.get(target=PHONE).wait_until - timezone.now())
            cache.clear()
        # The 12th failure started a 5-minute wait; the cache is empty again.
        send(attacker, PHONE_NATIONAL)
        attacker.post(SIGNIN_CODE, {"code": wrong(last_sms_code(PHONE))})
        cache.clear()
        clock.shift(datetime.timedelta(minutes=4))
        refused = send(client_from("203.0.113.61"), PHONE_NATIONAL)
        assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert int(refused["Retry-After"]) == 60
        # The 13th failure came at 12:17:30 (Tokyo): its 5 minutes end at 12:22:30.
        assert "認証コードを13回続けてまちがえたため、12:23 以降に新しい認証コードを送信できます（あと1分）。" in (
            refused.content.decode()
        )
    assert VerificationTarget.objects.get(target=PHONE).consecutive_failures == 13
    assert len(sms.outbox) == 13


CHANGES = {
    "email": ("accounts:profile_email", "accounts:profile_email_verify", {"email": "new@example.jp"}),
    "phone": ("accounts:profile_phone", "accounts:profile_phone_verify", {"phone_number": "090-2222-0001"}),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_every_wait_of_a_change_says_why_and_until_when(django_capture_on_commit_callbacks, change):
    """The e-mail and phone changes use the same engine and words as sign-in: after a wrong code
    the page says why and from when; asking again too soon says it once more."""
    send_name, verify_name, data = CHANGES[change]
    send_url, verify_url = reverse(send_name), reverse(verify_name)
    resident = Client()
    resident.force_login(ProfileFactory(user__attribute=attribute("owner")).user)
    with time_machine.travel(NOW, tick=False) as clock:  # 12:00 in Tokyo
        with django_capture_on_commit_callbacks(execute=True):
            assert resident.post(send_url, data).status_code == HTTPStatus.FOUND
        plain = last_email_code() if change == "email" else last_sms_code("+819022220001")
        resident.post(verify_url, {"code": wrong(plain)})
        page = resident.get(send_url).content.decode()
        assert (
            "認証コードが正しくありません。12:01 以降に新しい認証コードを送信して、やり直してください（あと30秒）。"
            in page
        )
        clock.shift(datetime.timedelta(seconds=10))
        again = resident.post(send_url, data).content.decode()
        assert "認証コードをまちがえたため、12:01 以降に新しい認証コードを送信できます（あと20秒）。" in again
