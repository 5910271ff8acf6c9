"""SMS pumping (toll fraud): an attacker makes the site send many SMS to numbers they profit from."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import VerificationCode
from tests.accounts.verification_helpers import last_sms_code
from tests.factories import ProfileFactory, attribute
from tests.security.conftest import NOW, SIGNIN_CODE, client_from
from tests.security.conftest import wrong as wrong_code

pytestmark = pytest.mark.django_db

# Valid numbers an SMS must never be sent to: abroad (incl. a classic IRSF destination) and
# Japanese ranges that are not mobile (premium rate, shared cost, free dial, IP phone, M2M, landline).
NOT_JP_MOBILE = {
    "uk_mobile": "+44 7911 123456",
    "antigua": "+1 268 464 1234",
    "premium_0990": "0990-123-456",
    "navi_dial_0570": "0570-000-123",
    "free_dial_0120": "0120-123-456",
    "ip_phone_050": "050-1234-5678",
    "m2m_020": "020-1234-5678",
    "landline_03": "03-1234-5678",
}


def mobile(n: int) -> str:
    return f"090-{5000 + n // 10000:04d}-{n % 10000:04d}"


def e164(n: int) -> str:
    return "+81" + mobile(n).replace("-", "")[1:]


def test_many_numbers_from_one_ip_are_capped(send):
    """Per-address step-up (code_send_ip_unverified, 100/h): an address spraying numbers, whose
    codes are never used, stops at 100 unused codes; the page says why."""
    attacker = client_from("203.0.113.50")
    answers = [send(attacker, mobile(n)).status_code for n in range(105)]
    assert answers == [HTTPStatus.FOUND] * 100 + [HTTPStatus.TOO_MANY_REQUESTS] * 5
    assert len(sms.outbox) == 100
    refused = send(attacker, mobile(200))
    assert "この回線（IPアドレス）から送信された認証コードの多くが、まだ使われていないため" in refused.content.decode()


def test_spraying_attacker_who_also_uses_codes_of_own_numbers_still_stops_at_100(send):
    """Using a code gives back only its own place: an attacker who mixes sign-ins of own numbers
    into the spray buys no extra sprays, and refused attempts never count as codes."""
    attacker = client_from("203.0.113.51")
    own = [f"080-1111-000{n}" for n in range(3)]
    sprays = 0
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(300):
            if send(attacker, mobile(n)).status_code == HTTPStatus.FOUND:
                sprays += 1
            if n % 10 == 0:  # now and then a code of an own number, used
                number, own_browser = own[(n // 10) % 3], client_from("203.0.113.51")
                if send(own_browser, number).status_code == HTTPStatus.FOUND:
                    own_browser.post(SIGNIN_CODE, {"code": last_sms_code("+81" + number.replace("-", "")[1:])})
                    assert SESSION_KEY in own_browser.session
            clock.shift(datetime.timedelta(seconds=2))
    assert sprays == 100


def test_200_residents_behind_one_address_each_get_their_code(send):
    """A building's Wi-Fi at 8 a.m.: 200 residents from one address in 15 minutes, in waves of 20
    who all ask for a code before any types it. One in ten types a wrong code first (and asks
    again after the 30 s), one in twenty never types the code: every one gets a code."""
    answers = []
    with time_machine.travel(NOW, tick=False) as clock:
        for wave in range(10):
            residents = {n: client_from("198.51.100.200") for n in range(wave * 20, wave * 20 + 20)}
            answers += [send(resident, mobile(n)).status_code for n, resident in residents.items()]
            typed = {n: r for n, r in residents.items() if n % 20 != 7}  # one in twenty never types it
            for n, resident in typed.items():
                if n % 10 == 3:
                    resident.post(SIGNIN_CODE, {"code": wrong_code(last_sms_code(e164(n)))})
            clock.shift(datetime.timedelta(seconds=30))
            for n, resident in typed.items():
                if n % 10 == 3:
                    answers.append(send(resident, mobile(n)).status_code)
                resident.post(SIGNIN_CODE, {"code": last_sms_code(e164(n))})
                assert SESSION_KEY in resident.session, n
            clock.shift(datetime.timedelta(seconds=60))
    assert answers == [HTTPStatus.FOUND] * 220
    assert len(sms.outbox) == 220


def test_one_number_from_many_ips_is_capped(send):
    """Per-target send limit (10/h): rotating addresses and sessions for one number stops at the limit."""
    answers = []
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(13):
            answers.append(send(client_from(f"198.51.100.{n + 1}"), "090-1234-5678").status_code)
            clock.shift(datetime.timedelta(seconds=31))  # past the resend wait each time
    assert answers[:10] == [HTTPStatus.FOUND] * 10
    assert set(answers[10:]) == {HTTPStatus.TOO_MANY_REQUESTS}
    assert len(sms.outbox) == 10


@pytest.mark.parametrize("number", NOT_JP_MOBILE.values(), ids=list(NOT_JP_MOBILE))
def test_non_japanese_and_premium_numbers_are_refused_at_sign_in(send, number):
    response = send(Client(), number)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "日本の携帯電話番号" in response.content.decode()
    assert sms.outbox == []
    assert not VerificationCode.objects.exists()


@pytest.mark.parametrize("number", NOT_JP_MOBILE.values(), ids=list(NOT_JP_MOBILE))
def test_non_japanese_and_premium_numbers_are_refused_at_phone_change(django_capture_on_commit_callbacks, number):
    """The phone-change page sends an SMS code to the new number: the same Japanese-mobile rule applies."""
    client = Client()
    client.force_login(ProfileFactory(user__attribute=attribute("owner")).user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:profile_phone"), {"phone_number": number})
    assert response.status_code == HTTPStatus.OK
    assert "日本の携帯電話番号" in response.content.decode()
    assert sms.outbox == []
    assert not VerificationCode.objects.exists()


def test_global_hourly_sms_cap_is_configurable_and_holds_across_ips_and_numbers(send, settings):
    """ACCOUNTS_SMS_GLOBAL_HOURLY_CAP (env of the same name): a distributed flood stops at the site's ceiling."""
    settings.ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = 3
    answers = [send(client_from(f"192.0.2.{n + 1}"), mobile(n)).status_code for n in range(5)]
    assert answers == [HTTPStatus.FOUND] * 3 + [HTTPStatus.TOO_MANY_REQUESTS] * 2
    assert len(sms.outbox) == 3


def test_email_sends_do_not_use_up_the_sms_cap(django_capture_on_commit_callbacks, settings, send):
    settings.ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = 1
    client = Client()
    client.force_login(ProfileFactory(user__attribute=attribute("owner")).user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:profile_email"), {"email": "new@example.jp"})
    assert send(Client(), "090-1234-5678").status_code == HTTPStatus.FOUND
    assert len(sms.outbox) == 1
