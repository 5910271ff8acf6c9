"""Rate limits of the code flows: per target, account and IP, the SMS cap, and the 429 page."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from accounts import sms
from accounts.app_settings import app_settings
from accounts.ratelimits import check_code_send, check_code_verify
from myspacecore.core.ratelimits import RateLimited
from tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

SIGNIN = reverse("accounts:signin")
SIGNIN_CODE = reverse("accounts:signin_code")
NOW = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def rates(settings):
    settings.ACCOUNTS_RATE_LIMITS = {
        "code_send_target": "3/h",
        "code_send_account": "4/h",
        "code_send_ip": "5/h",
        "code_verify_account": "3/h",
        "code_verify_ip": "5/h",
    }
    return settings.ACCOUNTS_RATE_LIMITS


def request_from(ip="192.0.2.1"):
    request = RequestFactory().post("/", REMOTE_ADDR=ip)
    return request


def test_sends_per_target_are_limited(rates):
    for _ in range(3):
        check_code_send(request_from(), target="+819012345678")
    with pytest.raises(RateLimited) as limited:
        check_code_send(request_from("192.0.2.2"), target="+819012345678")
    assert 0 < limited.value.retry_after <= 3600
    check_code_send(request_from("192.0.2.3"), target="+819087654321")


def test_sends_per_ip_are_limited(rates):
    for n in range(5):
        check_code_send(request_from(), target=f"+8190123400{n:02d}")
    with pytest.raises(RateLimited):
        check_code_send(request_from(), target="+819012340099")
    check_code_send(request_from("192.0.2.9"), target="+819012340099")


def test_sends_per_account_are_limited(rates):
    user = ResidentFactory()
    for n in range(4):
        check_code_send(request_from(f"192.0.2.{n}"), target=f"user{n}@example.jp", user=user, sms=False)
    with pytest.raises(RateLimited):
        check_code_send(request_from("192.0.2.50"), target="user9@example.jp", user=user, sms=False)


def test_sms_global_hourly_cap(rates, settings):
    settings.ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = 2
    check_code_send(request_from("192.0.2.1"), target="+819012340001")
    check_code_send(request_from("192.0.2.2"), target="+819012340002")
    with pytest.raises(RateLimited):
        check_code_send(request_from("192.0.2.3"), target="+819012340003")
    # E-mail sends do not count against the SMS cap (an address is not an SMS target).
    check_code_send(request_from("192.0.2.4"), target="a@example.jp")


def test_verification_attempts_per_account_and_ip_are_limited(rates):
    user = ResidentFactory()
    for n in range(3):
        check_code_verify(request_from(f"192.0.2.{n}"), user=user)
    with pytest.raises(RateLimited):
        check_code_verify(request_from("192.0.2.60"), user=user)
    for _ in range(5):
        check_code_verify(request_from("198.51.100.1"))
    with pytest.raises(RateLimited):
        check_code_verify(request_from("198.51.100.1"))


def test_send_limit_answers_429_with_retry_after(client, rates, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                assert client.post(SIGNIN, {"phone_number": "090-1234-5678"}).status_code == HTTPStatus.FOUND
            clock.shift(datetime.timedelta(seconds=31))  # past the resend wait
        response = client.post(SIGNIN, {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "もう一度お試しください" in response.content.decode()
    assert len(sms.outbox) == 3


def test_verify_limit_answers_429_with_retry_after(client, rates, settings):
    settings.ACCOUNTS_RATE_LIMITS = {**rates, "code_verify_ip": "0/h"}
    client.post(SIGNIN, {"phone_number": "090-1234-5678"})
    response = client.post(SIGNIN_CODE, {"code": "123456"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0


def test_a_rate_table_override_keeps_the_rates_it_does_not_name(settings):
    settings.ACCOUNTS_RATE_LIMITS = {"code_send_ip": "7/h", "admin_login_ip": "3/15m"}

    assert app_settings.RATE_LIMITS["code_send_ip"] == "7/h"
    assert app_settings.RATE_LIMITS["code_send_target"] == "5/h"
    assert (app_settings.RATE_LIMITS["admin_login_ip_username"], app_settings.RATE_LIMITS["admin_login_ip"]) == (
        "5/15m",
        "3/15m",
    )
