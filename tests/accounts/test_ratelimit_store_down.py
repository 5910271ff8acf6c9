"""The rate limits' store (Redis) down: every code send and verify answers the 503 page, never a 500.

The failure is simulated where django-ratelimit talks to the cache (`get_usage`), so what
is tested is our handling of a redis error, whichever view counts against the limits.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import RequestFactory
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.flows.email_change import SESSION_KEY as EMAIL_SESSION_KEY
from accounts.flows.phone_change import SESSION_KEY as PHONE_SESSION_KEY
from accounts.flows.signin import SESSION_PENDING
from accounts.models import VerificationCode
from accounts.ratelimits import check_code_send, check_code_verify
from myspacecore.core.ratelimits import RateLimitUnavailable
from tests.accounts.profile_helpers import last_email_code, last_sms_code, post_on_commit, signed_in
from tests.factories import ProfileFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db

NEW_PHONE = "+819087654321"
UNAVAILABLE = "認証コードを送信できませんでした"


def url(name: str) -> str:
    return reverse(f"accounts:{name}")


@pytest.fixture
def redis_down(monkeypatch):
    """From now on every rate-limit count fails as it does with Redis stopped."""

    def refuse(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def stop():
        # Both ways a count reaches the store: django-ratelimit's get_usage (locmem, the unit
        # tier) and the one-round-trip script used on Redis (the integration tier).
        monkeypatch.setattr("myspacecore.core.ratelimits.get_usage", refuse)
        monkeypatch.setattr("myspacecore.core.ratelimits._redis_client", refuse)

    return stop


def assert_unavailable(response) -> None:
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert UNAVAILABLE in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_rate_limit_checks_raise_unavailable_when_the_cache_fails(redis_down):
    redis_down()
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.1")
    with pytest.raises(RateLimitUnavailable):
        check_code_send(request, target="+819012345678")
    with pytest.raises(RateLimitUnavailable):
        check_code_verify(request, target="+819012345678")


def test_signin_phone_post_answers_503_and_issues_no_code(client, redis_down):
    redis_down()
    assert_unavailable(client.post(url("signin"), {"phone_number": "090-1234-5678"}))
    assert not VerificationCode.objects.exists()
    assert SESSION_PENDING not in client.session


def test_signin_code_post_answers_503_and_keeps_the_code_pending(
    client, redis_down, django_capture_on_commit_callbacks
):
    post_on_commit(django_capture_on_commit_callbacks, client, url("signin"), {"phone_number": "090-1234-5678"})
    code = last_sms_code("+819012345678")
    redis_down()
    assert_unavailable(client.post(url("signin_code"), {"code": code}))
    # Nothing consumed: the resident can enter the same code once Redis is back.
    assert VerificationCode.objects.get().state == VerificationCode.State.PENDING
    assert SESSION_PENDING in client.session
    assert "_auth_user_id" not in client.session


def test_profile_phone_send_answers_503_and_issues_no_code(redis_down):
    user = ProfileFactory(user__attribute=attribute("owner")).user
    client = signed_in(user)
    redis_down()
    assert_unavailable(client.post(url("profile_phone"), {"phone_number": "090-8765-4321"}))
    assert not VerificationCode.objects.filter(target=NEW_PHONE).exists()


def test_profile_phone_verify_answers_503_and_keeps_the_number(redis_down, django_capture_on_commit_callbacks):
    user = ProfileFactory(user__attribute=attribute("owner")).user
    old_phone = user.phone_number.as_e164
    client = signed_in(user)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_phone"), {"phone_number": "090-8765-4321"})
    redis_down()
    assert_unavailable(client.post(url("profile_phone_verify"), {"code": last_sms_code(NEW_PHONE)}))
    user.refresh_from_db()
    assert user.phone_number.as_e164 == old_phone
    assert client.session[PHONE_SESSION_KEY]["code_id"]


def test_profile_email_send_and_verify_answer_503_and_keep_the_address(redis_down, django_capture_on_commit_callbacks):
    profile = ProfileFactory(user__attribute=attribute("owner"))
    client = signed_in(profile.user)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "sakura@example.jp"})
    code = last_email_code("sakura@example.jp")
    redis_down()
    assert_unavailable(client.post(url("profile_email_verify"), {"code": code}))
    assert_unavailable(client.post(url("profile_email"), {"email": "other@example.jp"}))
    profile.refresh_from_db()
    assert not profile.email
    assert client.session[EMAIL_SESSION_KEY]["email"] == "sakura@example.jp"


def test_register_email_send_and_code_answer_503(redis_down, django_capture_on_commit_callbacks):
    client = signed_in(ResidentFactory(attribute=attribute("owner")))
    client.post(url("register"), {"nickname": "さくら", "birth_year": "1990", "gender": "female"})
    post_on_commit(django_capture_on_commit_callbacks, client, url("register_email"), {"email": "sakura@example.jp"})
    code = last_email_code("sakura@example.jp")
    redis_down()
    assert_unavailable(client.post(url("register_code"), {"code": code}))
    assert_unavailable(client.post(url("register_email"), {"email": "other@example.jp"}))
    # The code was not consumed: it still works once the store is back.
    assert VerificationCode.objects.get(target="sakura@example.jp").state == VerificationCode.State.PENDING
