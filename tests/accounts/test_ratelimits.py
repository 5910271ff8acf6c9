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
from accounts.ratelimits import check_code_send, check_code_verify, code_used_from
from myspacecore.core.ratelimits import RateLimited
from myspacecore.core.timestamps import clock_text, duration_text
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
        retry_at = clock_text(NOW + datetime.timedelta(seconds=93 + int(response["Retry-After"])))
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(response["Retry-After"]) <= 3600
    page = response.content.decode()
    # Why (which limit, with its numbers) and from when, as a clock time and a length.
    assert "同じ送信先への認証コードの送信が1時間に3回を超えたため、一時的に受け付けを止めています。" in page
    assert f"{retry_at} 以降にもう一度お試しください（あと{duration_text(int(response['Retry-After']))}）。" in page
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
    assert app_settings.RATE_LIMITS["code_send_target"] == "10/h"
    assert (app_settings.RATE_LIMITS["admin_login_ip_username"], app_settings.RATE_LIMITS["admin_login_ip"]) == (
        "5/15m",
        "3/15m",
    )


def test_codes_used_from_an_address_give_their_place_back(settings):
    """code_send_ip_unverified counts codes sent from an address and not used: a neighbour who
    uses a code frees a place at once, and never more than the codes sent."""
    settings.ACCOUNTS_RATE_LIMITS = {"code_send_ip_unverified": "2/h", "code_send_ip": "20/h"}
    building = "198.51.100.80"

    def send(n: int) -> None:
        check_code_send(request_from(building), target=f"+8190555500{n:02d}")

    send(1)
    send(2)
    with pytest.raises(RateLimited) as limited:
        send(3)
    assert limited.value.group == "code_send_ip_unverified"
    assert limited.value.reason == "この回線（IPアドレス）から送信された認証コードの多くが、まだ使われていないため"
    code_used_from(request_from(building))
    send(3)
    for _ in range(3):  # two codes open, three "used": the count stops at zero, no credit
        code_used_from(request_from(building))
    send(4)
    send(5)
    with pytest.raises(RateLimited):
        send(6)


def test_the_address_ceiling_counts_every_send_used_or_not(settings):
    settings.ACCOUNTS_RATE_LIMITS = {"code_send_ip_unverified": "2/h", "code_send_ip": "3/h"}
    for n in range(3):
        check_code_send(request_from(), target=f"+8190555510{n:02d}")
        code_used_from(request_from())
    with pytest.raises(RateLimited) as ceiling:
        check_code_send(request_from(), target="+819055551099")
    assert ceiling.value.group == "code_send_ip"
    assert ceiling.value.reason == "この回線（IPアドレス）からの認証コードの送信が1時間に3回を超えたため"


def test_a_refused_send_does_not_count_as_an_unused_code(settings):
    settings.ACCOUNTS_RATE_LIMITS = {"code_send_ip_unverified": "2/h", "code_send_target": "1/h"}
    check_code_send(request_from(), target="+819055551111")
    for _ in range(3):  # refused by the per-target limit: no code sent, no place taken
        with pytest.raises(RateLimited):
            check_code_send(request_from(), target="+819055551111")
    check_code_send(request_from(), target="+819055552222")


def test_giving_a_place_back_never_fails_a_request_whose_code_was_used(monkeypatch, caplog):
    """The code is already used when its place is given back: a cache that fails then is logged,
    never turned into an error page that would hide a sign-in that happened."""
    from django.core.cache import cache
    from redis.exceptions import ConnectionError as RedisConnectionError

    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(cache, "get", refuse)
    # On Redis the count is given back by a script on a kept client (the integration tier).
    monkeypatch.setattr("myspacecore.core.ratelimits._redis_client", refuse)
    code_used_from(request_from())
    assert "not given back" in caplog.text
