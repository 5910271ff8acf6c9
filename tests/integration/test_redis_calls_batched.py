"""Writes batched in one pipeline on the real Redis (myspacecore.core.cache_clients): a code's verify
sends the session's cached copies and the rate limit's give-back in one round trip, and each call
of a pipeline still succeeds or fails on its own."""

from __future__ import annotations

import socket

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django.urls import reverse
from django_ratelimit.core import get_usage

from accounts.app_settings import app_settings
from myspacecore.core.cache_clients import kept_redis_client, redis_call, redis_calls_batched
from myspacecore.core.ratelimits import GROUP_PREFIX
from tests.accounts.verification_helpers import last_sms_code
from tests.factories import ProfileFactory, ResidentFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+819012345678"


@pytest.fixture
def redis_cache(settings):
    settings.SESSION_ENGINE = "myspacecore.sessions"
    cache = caches[settings.SESSION_CACHE_ALIAS]
    assert isinstance(cache, RedisCache) and settings.RATELIMIT_USE_CACHE == settings.SESSION_CACHE_ALIAS
    cache.clear()
    return cache


def unverified_codes_from_here() -> int:
    """The test client's address's count under code_send_ip_unverified, as django-ratelimit reads it."""
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    rate = app_settings.RATE_LIMITS["code_send_ip_unverified"]
    usage = get_usage(request, group=f"{GROUP_PREFIX}code_send_ip_unverified", key="ip", rate=rate)
    return usage["count"]


@pytest.fixture
def round_trips(monkeypatch):
    """Every command sent alone, and every pipeline (as the list of its commands), in order."""
    sent: list[object] = []
    command, execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def one(self, *args, **options):
        sent.append(args[0])
        return command(self, *args, **options)

    def pipelined(self, *args, **kwargs):
        sent.append([queued[0][0] for queued in self.command_stack])  # (args, options) each
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", one)
    monkeypatch.setattr(redis.client.Pipeline, "execute", pipelined)
    return sent


def test_a_sign_in_sends_the_old_copys_delete_the_new_copy_and_the_give_back_in_one_round_trip(
    client, redis_cache, round_trips
):
    ProfileFactory(user=ResidentFactory(phone_number=PHONE))
    assert client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"}).status_code == 302
    old_key = client.cookies["sessionid"].value
    kept = kept_redis_client(redis_cache)
    old_copy = redis_cache.make_and_validate_key(f"django.contrib.sessions.cached_db{old_key}")
    assert kept.exists(old_copy)
    assert unverified_codes_from_here() == 1
    round_trips.clear()

    response = client.post(reverse("accounts:signin_code"), {"code": last_sms_code(PHONE)})

    assert response.status_code == 302
    # The session's read, the verify's limits, then the writes nobody waited for, together.
    assert round_trips == ["GET", "EVAL", ["DEL", "SET", "EVAL"]]
    new_key = client.cookies["sessionid"].value
    assert new_key != old_key
    assert not kept.exists(old_copy)
    assert kept.exists(redis_cache.make_and_validate_key(f"django.contrib.sessions.cached_db{new_key}"))
    assert unverified_codes_from_here() == 0  # the code's place given back


def test_a_call_the_server_refuses_fails_alone_in_its_pipeline(redis_cache):
    kept = kept_redis_client(redis_cache)
    kept.set("it-batch-text", "not a number")
    errors: dict[str, Exception] = {}

    with redis_calls_batched():
        redis_call(kept, lambda c: c.set("it-batch-a", "1"), on_error=lambda exc: errors.setdefault("a", exc))
        redis_call(kept, lambda c: c.incr("it-batch-text"), on_error=lambda exc: errors.setdefault("incr", exc))
        redis_call(kept, lambda c: c.set("it-batch-c", "3"), on_error=lambda exc: errors.setdefault("c", exc))
        assert kept.get("it-batch-a") is None  # not before the block ends

    assert list(errors) == ["incr"] and isinstance(errors["incr"], redis.ResponseError)
    assert kept.get("it-batch-a") == b"1" and kept.get("it-batch-c") == b"3"
    kept.delete("it-batch-text", "it-batch-a", "it-batch-c")


def test_a_server_that_cannot_be_reached_fails_each_call_and_the_block_raises_nothing():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = redis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.5)
    errors: list[type] = []

    with redis_calls_batched():
        for key in ("a", "b"):
            redis_call(unreachable, lambda c, key=key: c.set(key, "1"), on_error=lambda exc: errors.append(type(exc)))

    assert errors == [redis.ConnectionError, redis.ConnectionError]
