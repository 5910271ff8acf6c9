"""SMS pumping (toll fraud): an attacker makes the site send many SMS to numbers they profit from."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import VerificationCode
from tests.factories import ProfileFactory, attribute
from tests.security.conftest import NOW, client_from

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


def test_many_numbers_from_one_ip_are_capped(send):
    """Per-IP send limit (20/h): rotating numbers from one address stops at the limit."""
    attacker = client_from("203.0.113.50")
    answers = [send(attacker, mobile(n)).status_code for n in range(25)]
    assert answers[:20] == [HTTPStatus.FOUND] * 20
    assert set(answers[20:]) == {HTTPStatus.TOO_MANY_REQUESTS}
    assert len(sms.outbox) == 20


def test_one_number_from_many_ips_is_capped(send):
    """Per-target send limit (5/h): rotating addresses and sessions for one number stops at the limit."""
    answers = []
    with time_machine.travel(NOW, tick=False) as clock:
        for n in range(8):
            answers.append(send(client_from(f"198.51.100.{n + 1}"), "090-1234-5678").status_code)
            clock.shift(datetime.timedelta(seconds=31))  # past the resend wait each time
    assert answers[:5] == [HTTPStatus.FOUND] * 5
    assert set(answers[5:]) == {HTTPStatus.TOO_MANY_REQUESTS}
    assert len(sms.outbox) == 5


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
