"""Django's Redis cache on one kept redis-py client per cache client, for the calls made on every request.

Django's `RedisCache` builds a new `redis.Redis` around its connection pool for every call
(`RedisCacheClient.get_client`); the pool is kept, the client object is not, and building it
costs more CPU than the round trip it makes (~150 µs, bench/README.md). The rate limits and
the session store's cached copies go through `kept_redis_client` / `KeptClientCache`
instead: the same server, pool, keys, serializer and timeouts as the cache's own methods.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.redis import RedisCache

# Keyed by Django's RedisCacheClient (one per cache object, so one per thread and process).
_redis_clients: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def kept_redis_client(cache: RedisCache) -> Any:
    """A redis-py client on `cache`'s (write) connection pool, made once per cache client."""
    backend = cache._cache  # Django's RedisCacheClient: its pools, its options
    client = _redis_clients.get(backend)
    if client is None:
        client = _redis_clients[backend] = backend.get_client(write=True)
    return client


class KeptClientCache:
    """`get`, `set`, `delete` and `has_key` of a Django `RedisCache` on its kept client.

    Keys are the cache's (`make_and_validate_key`: prefix, version), values go through its
    serializer and timeouts through `get_backend_timeout`, as `RedisCacheClient` does them:
    what one writes the other reads.
    """

    def __init__(self, cache: RedisCache) -> None:
        self.cache = cache
        # Django's RedisCacheClient keeps its serializer on a private attribute (no public one):
        # tests/integration/test_session_cache_redis.py reads back what each side writes.
        self._serializer = cache._cache._serializer  # type: ignore[attr-defined]

    @property
    def _client(self) -> Any:
        return kept_redis_client(self.cache)

    def get(self, key: str, default: Any = None) -> Any:
        value = self._client.get(self.cache.make_and_validate_key(key))
        return default if value is None else self._serializer.loads(value)

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT) -> None:
        key = self.cache.make_and_validate_key(key)
        timeout = self.cache.get_backend_timeout(timeout)
        if timeout == 0:
            self._client.delete(key)
        else:
            self._client.set(key, self._serializer.dumps(value), ex=timeout)

    def delete(self, key: str) -> bool:
        return bool(self._client.delete(self.cache.make_and_validate_key(key)))

    def has_key(self, key: str) -> bool:
        return bool(self._client.exists(self.cache.make_and_validate_key(key)))


def on_kept_client(cache: BaseCache) -> BaseCache | KeptClientCache:
    """`cache` for get / set / delete / has_key: on its kept client when it is Django's Redis cache."""
    return KeptClientCache(cache) if isinstance(cache, RedisCache) else cache
