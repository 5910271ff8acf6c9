"""The session store's cached copies on Redis through one kept client (myspacecore.core.cache_clients):
what Django's RedisCache writes the kept client reads, and back, with no redis.Redis built per call."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from myspacecore import sessions
from myspacecore.core.cache_clients import KeptClientCache, kept_redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings):
    settings.SESSION_ENGINE = "myspacecore.sessions"
    cache = caches[settings.SESSION_CACHE_ALIAS]
    assert isinstance(cache, RedisCache)
    return cache


def test_the_kept_client_and_djangos_cache_read_what_the_other_wrote(redis_cache):
    kept = KeptClientCache(redis_cache)

    kept.set("kept-wrote", {"resident": 1}, 30)
    redis_cache.set("django-wrote", {"resident": 2}, 30)

    assert redis_cache.get("kept-wrote") == {"resident": 1}
    assert kept.get("django-wrote") == {"resident": 2}
    assert kept.has_key("django-wrote") and redis_cache.has_key("kept-wrote")
    assert 0 < kept_redis_client(redis_cache).ttl(redis_cache.make_and_validate_key("kept-wrote")) <= 30
    assert kept.delete("django-wrote") and redis_cache.get("django-wrote") is None
    kept.set("kept-wrote", {"resident": 1}, 0)  # timeout 0: deleted, as Django's set does
    assert redis_cache.get("kept-wrote") is None
    assert kept.get("never-written", "default") == "default"


def test_a_sessions_cache_calls_build_no_redis_client_each(redis_cache, monkeypatch):
    warm = sessions.SessionStore()
    warm["resident"] = 1
    warm.save()  # the kept client is made here, once
    built = []
    original = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    session = sessions.SessionStore()
    session["resident"] = 1
    session.save()
    again = sessions.SessionStore(session.session_key)
    assert again.load() == {"resident": 1}
    assert redis_cache.get(again.cache_key) == {"resident": 1}  # Django's own read: one client
    again.cycle_key()
    again.save()

    assert len(built) == 1
    assert sessions.SessionStore(again.session_key).load() == {"resident": 1}
    assert settings.SESSION_CACHE_ALIAS == "default"
