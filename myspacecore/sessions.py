"""Sessions cached in Redis and kept in PostgreSQL, that keep working while Redis is down.

Django's `cached_db` already reads through to the database when the cache read fails,
but then lets the cache write (and `exists()`, `delete()`) raise, so every signed-in page
answers 500 during a Redis outage. Here each cache operation is best effort: the
database stays the source of truth, the cache only saves its query.

A cache that fails only part of the time (a partition, a failover) can miss the delete of a
signed-out session and keep its copy; a read would then find a session the database no
longer has. So a cached copy lives at most `CACHED_COPY_MAX_AGE`, not the session's 30 days:
that bounds how long a missed delete can matter, at the cost of one query per session per
ten minutes.

The table is accounts' `AccountSession` (`accounts.sessions`), so an account's sessions are
found by its id; ending them also drops their cached copies.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache import caches
from django.db import transaction
from django.utils.functional import cached_property

from accounts.sessions import AccountSessionIndex
from myspacecore.core.cache_clients import KeptClientCache, kept_redis_client, on_kept_client, redis_call

if TYPE_CHECKING:
    from django.contrib.sessions.base_session import AbstractBaseSession
    from django.core.cache.backends.base import BaseCache

logger = logging.getLogger("django.contrib.sessions")

CACHED_COPY_MAX_AGE = 10 * 60


class SessionStore(AccountSessionIndex, CachedDBStore):
    if TYPE_CHECKING:
        # Django's own private members this store builds on; django-stubs leaves them out.
        _cache: BaseCache
        _session: dict[str, Any]

        def _get_session_from_db(self) -> AbstractBaseSession | None: ...

    @cached_property
    def _cache_kept(self):
        # On Redis, one kept client instead of a new redis.Redis per call (myspacecore.core.cache_clients).
        return on_kept_client(self._cache)

    def _cache_call(self, method: str, *args):
        try:
            return getattr(self._cache_kept, method)(*args)
        except Exception as exc:  # noqa: BLE001 - any cache failure: fall back to the database
            _cache_failed(exc)
            return None

    def _cache_write(self, method: str, *args) -> None:
        """A write of a cached copy (`set`, `delete`), best effort as `_cache_call`. On Redis it
        goes through `redis_call`: inside a `redis_calls_batched` block (a code's verify, the
        sign-in with it) it is sent with the block's other writes, in one round trip."""
        kept = self._cache_kept
        if isinstance(kept, KeptClientCache):
            redis_call(
                kept_redis_client(kept.cache),
                lambda client: getattr(kept.on(client), method)(*args),
                on_error=_cache_failed,
            )
        else:
            self._cache_call(method, *args)

    def load(self):
        data = self._cache_call("get", self.cache_key)
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._cache_set(data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key):
        if session_key and self._cache_call("has_key", self.cache_key_prefix + session_key):
            return True
        return DBStore.exists(self, session_key)

    def save(self, must_create=False):
        if self.session_key is None:
            # create() saves under a new key, this save and its cache copy included: Django's
            # cached_db would then set the same copy a second time.
            self.create()
            return
        if not must_create and self.saved_as_is():
            return  # row and copy already hold it (AccountSessionIndex.save)
        AccountSessionIndex.save(self, must_create)
        # The copy only once the row is committed: a copy of a row rolled back would be read
        # for its ten minutes as a session the database does not have.
        data, age = dict(self._session), self.get_expiry_age()
        transaction.on_commit(lambda: self._cache_set(data, age))

    def delete(self, session_key=None):
        AccountSessionIndex.delete(self, session_key)  # the copy: _row_deleted

    def _row_deleted(self, session_key: str, using: str) -> None:
        # The copy goes once the row's DELETE commits (in autocommit, at once). Before, the
        # row is still what every other request reads, and one that read it through would
        # have put back a copy deleted earlier, to outlive the row by its ten minutes.
        key = self.cache_key_prefix + session_key
        transaction.on_commit(lambda: self._cache_write("delete", key), using=using)

    @classmethod
    def account_sessions_delete(cls, *, account_id: int, keep_key: str | None = None) -> list[str]:
        """The rows (`AccountSessionIndex`), then their cached copies, best effort."""
        keys = super().account_sessions_delete(account_id=account_id, keep_key=keep_key)
        if keys:
            try:
                caches[settings.SESSION_CACHE_ALIAS].delete_many([cls.cache_key_prefix + key for key in keys])
            except Exception as exc:  # noqa: BLE001 - the rows are gone; a copy lives 10 minutes at most
                logger.warning("session cache unavailable (%s); copies expire on their own", type(exc).__name__)
        return keys

    def _cache_set(self, data: dict, expiry_age: int) -> None:
        self._cache_write("set", self.cache_key, data, min(expiry_age, CACHED_COPY_MAX_AGE))


def _cache_failed(exc: Exception) -> None:
    logger.warning("session cache unavailable (%s); using the database", type(exc).__name__)
