"""Django's Redis cache on one kept redis-py client per cache client, for the calls made on every request.

Django's `RedisCache` builds a new `redis.Redis` around its connection pool for every call
(`RedisCacheClient.get_client`); the pool is kept, the client object is not, and building it
costs more CPU than the round trip it makes (~150 µs, bench/README.md). The rate limits and
the session store's cached copies go through `kept_redis_client` / `KeptClientCache`
instead: the same server, pool, keys, serializer and timeouts as the cache's own methods.

Writes that need no answer and may wait a few statements (a session's cached copies once
its row commits, a rate limit's give-back) go through `redis_call`: inside a
`redis_calls_batched` block they are sent when the block ends, in one pipeline per client:
one round trip where each used to make its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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

    def __init__(self, cache: RedisCache, client: Any = None) -> None:
        self.cache = cache
        # Django's RedisCacheClient keeps its serializer on a private attribute (no public one):
        # tests/integration/test_session_cache_redis.py reads back what each side writes.
        self._serializer = cache._cache._serializer  # type: ignore[attr-defined]
        self._on = client

    @property
    def _client(self) -> Any:
        return self._on if self._on is not None else kept_redis_client(self.cache)

    def on(self, client: Any) -> KeptClientCache:
        """The same calls made on `client` (a pipeline of the kept client: queued, not sent)."""
        return KeptClientCache(self.cache, client)

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


# Calls waiting for the end of the innermost `redis_calls_batched` block: (client, command, on_error).
_batched: ContextVar[list[tuple[Any, Callable[[Any], object], Callable[[Exception], None]]] | None] = ContextVar(
    "redis_calls_batched", default=None
)


def redis_call(client: Any, command: Callable[[Any], object], *, on_error: Callable[[Exception], None]) -> None:
    """`command(client)` now, or, inside a `redis_calls_batched` block, on a pipeline of `client`
    when the block ends. For a write whose answer nobody reads. Whatever the call raises (a
    RedisError, or anything else the client raises) goes to `on_error`, never to the caller."""
    calls = _batched.get()
    if calls is not None:
        calls.append((client, command, on_error))
        return
    try:
        command(client)
    except Exception as exc:  # noqa: BLE001 - on_error decides (the callers' writes are best effort)
        on_error(exc)


@contextmanager
def redis_calls_batched() -> Iterator[None]:
    """The `redis_call`s made inside the block are sent as it ends (raised or not), in order,
    in one pipeline per client (no MULTI: each call stands alone, as it would have). A block
    inside another one leaves them to the outer block."""
    if _batched.get() is not None:
        yield
        return
    calls: list[tuple[Any, Callable[[Any], object], Callable[[Exception], None]]] = []
    token = _batched.set(calls)
    try:
        yield
    finally:
        _batched.reset(token)
        _calls_send(calls)


def _calls_send(calls: list[tuple[Any, Callable[[Any], object], Callable[[Exception], None]]]) -> None:
    by_client: dict[int, tuple[Any, list[tuple[Callable[[Any], object], Callable[[Exception], None]]]]] = {}
    for client, command, on_error in calls:
        by_client.setdefault(id(client), (client, []))[1].append((command, on_error))
    for client, commands in by_client.values():
        if len(commands) == 1:  # no pipeline for one call
            (command, on_error), *_ = commands
            redis_call(client, command, on_error=on_error)
            continue
        pipeline = client.pipeline(transaction=False)
        sent: list[tuple[int, Callable[[Exception], None]]] = []  # (commands it queued, on_error)
        for command, on_error in commands:
            queued = len(pipeline)
            try:
                command(pipeline)
            except Exception as exc:  # noqa: BLE001 - a call that could not even be queued
                on_error(exc)
                continue
            sent.append((len(pipeline) - queued, on_error))
        try:
            results = pipeline.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - the pipeline did not go through: every call in it failed
            for _count, on_error in sent:
                on_error(exc)
            continue
        start = 0
        for count, on_error in sent:
            # A call's error: any of the results of the commands it queued.
            error = next((result for result in results[start : start + count] if isinstance(result, Exception)), None)
            start += count
            if error is not None:
                on_error(error)
