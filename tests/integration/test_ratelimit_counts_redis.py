"""The rate limits' count on Redis (myspacecore.core.ratelimits) is one command a request, and
django-ratelimit's: the same counters, counts and window expiries as its get_usage, which reads
what we counted."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, get_usage

from myspacecore.core.cache_clients import kept_redis_client
from myspacecore.core.ratelimits import BY_IP, GROUP_PREFIX, RateLimited, consume

pytestmark = pytest.mark.django_db


def calls(client, command: str) -> int:
    return client.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)


def test_counts_made_in_one_round_trip_are_the_ones_get_usage_reads(settings):
    cache = caches[settings.RATELIMIT_USE_CACHE]
    assert isinstance(cache, RedisCache)
    cache.clear()
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7")
    limits = [("it_target", "3/h", "+819012345678"), ("it_ip", "5/m", BY_IP)]

    client = kept_redis_client(cache)
    before = {command: calls(client, command) for command in ("eval", "multi")}
    for _ in range(3):
        consume(request, limits)

    # One command a request (a script: atomic as the transaction it replaces), no MULTI/EXEC.
    assert {command: calls(client, command) - before[command] for command in before} == {"eval": 3, "multi": 0}
    target = get_usage(request, group=f"{GROUP_PREFIX}it_target", key=lambda g, r: "+819012345678", rate="3/h")
    address = get_usage(request, group=f"{GROUP_PREFIX}it_ip", key="ip", rate="5/m")
    assert (target["count"], target["should_limit"]) == (3, False)
    assert (address["count"], address["should_limit"]) == (3, False)
    window = _get_window("+819012345678", 3600)
    key = cache.make_and_validate_key(
        _make_cache_key(f"{GROUP_PREFIX}it_target", window, "3/h", "+819012345678", None)
    )
    assert 3600 < kept_redis_client(cache).ttl(key) <= 3600 + EXPIRATION_FUDGE
    with pytest.raises(RateLimited) as refused:
        consume(request, limits)
    assert refused.value.group == "it_target"


def test_the_site_cap_is_counted_in_the_same_command_and_only_after_the_other_limits_passed(settings):
    cache = caches[settings.RATELIMIT_USE_CACHE]
    cache.clear()
    client = kept_redis_client(cache)
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.8")
    limits, site = [("it_send", "1/h", "+819012340001")], [("it_site", "100/h", "all")]

    def site_count() -> int:
        return get_usage(request, group=f"{GROUP_PREFIX}it_site", key=lambda g, r: "all", rate="100/h")["count"]

    evals = calls(client, "eval")
    consume(request, limits, then=site)
    assert site_count() == 1
    with pytest.raises(RateLimited) as refused:
        consume(request, limits, then=site)  # over it_send: the site's allowance is not touched

    assert refused.value.group == "it_send"
    assert site_count() == 1
    assert calls(client, "eval") - evals == 2
