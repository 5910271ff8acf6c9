"""The site's session store: Django's database store on `AccountSession`, which names the account.

`SESSION_ENGINE = "accounts.sessions"` (production: `myspacecore.sessions`, the same table
behind a cache). Each save writes the signed-in account's id beside the session, so
`SessionStore.account_sessions_delete` finds an account's sessions by an index instead of
decoding the whole table. The class keeps Django's name, `SessionStore`: a session's
signature is salted with it, so the rows copied from Django's table still decode.
"""

from __future__ import annotations

import copy
import secrets
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Field

from accounts.models import AccountSession


def _account_id(data: dict[str, Any]) -> int | None:
    try:
        return int(data[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


@cache
def _session_sql(using: str) -> dict[str, str]:
    # The session's three statements in plain SQL, built once per process: through the ORM
    # each one cost more CPU to build than to run (bench/README.md); names from _meta.
    quote = connections[using].ops.quote_name
    table = quote(AccountSession._meta.db_table)
    key, data, expire, account = (
        quote(str(cast("Field", AccountSession._meta.get_field(name)).column))
        for name in ("session_key", "session_data", "expire_date", "account_id")
    )
    insert = (
        f"INSERT INTO {table} ({key}, {data}, {expire}, {account}) VALUES (%s, %s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({key}) DO NOTHING"
    )
    return {
        "insert": insert,
        # PostgreSQL: a replaced key's row deleted by the new key's INSERT (one statement; the
        # INSERT's row count is the statement's).
        "replace": f"WITH replaced AS (DELETE FROM {table} WHERE {key} = %s) {insert}",  # noqa: S608
        "update": f"UPDATE {table} SET {data} = %s, {expire} = %s, {account} = %s WHERE {key} = %s",  # noqa: S608
        "delete": f"DELETE FROM {table} WHERE {key} = %s",  # noqa: S608
    }


SESSION_KEY_LENGTH = 32
# The largest multiple of len(VALID_KEY_CHARS) (36) that fits in a byte: 7 × 36.
_UNBIASED_BELOW = 256 - 256 % len(VALID_KEY_CHARS)


def session_key_random(length: int = SESSION_KEY_LENGTH) -> str:
    """`length` characters drawn uniformly from VALID_KEY_CHARS, as Django's get_random_string
    draws a session key, from one read of the system's randomness instead of one per character.

    A byte below 252 (7 × 36) taken modulo 36 is uniform over the 36 characters; the few bytes
    above are dropped and more are read when too few are left.
    """
    chars: list[str] = []
    while len(chars) < length:
        drawn = secrets.token_bytes(length + 8)
        chars.extend(VALID_KEY_CHARS[b % len(VALID_KEY_CHARS)] for b in drawn if b < _UNBIASED_BELOW)
    return "".join(chars[:length])


class AccountSessionIndex:
    """What a database-backed store needs to keep `AccountSession.account_id` (mixed in first)."""

    # The key cycle_key replaced inside a transaction, its database and the savepoints open
    # then, until an INSERT takes its row with it or the commit deletes it (cycle_key).
    _replaced: tuple[str, str, tuple[str | None, ...]] | None = None

    if TYPE_CHECKING:  # the store's own members this mixin calls (django-stubs' SessionBase)
        session_key: str | None
        modified: bool
        _session_cache: dict[str, Any]

        @property
        def _session_key(self) -> str | None: ...

        @_session_key.setter
        def _session_key(self, value: str | None) -> None: ...

        @property
        def _session(self) -> dict[str, Any]: ...

        def create(self) -> None: ...

        def _get_session(self, no_load: bool = False) -> dict[str, Any]: ...

    @classmethod
    def get_model_class(cls) -> type[AccountSession]:
        return AccountSession

    def create_model_instance(self, data: dict[str, Any]) -> AccountSession:
        row = super().create_model_instance(data)  # type: ignore[misc]
        row.account_id = _account_id(data)
        return row

    def _get_new_session_key(self) -> str:
        # 32 random characters (165 bits). Uniqueness is the INSERT's primary key: create()
        # saves with must_create and draws again on CreateError, so Django's lookup of the
        # key first (a query, and a cache EXISTS, per new session) guards nothing more.
        return session_key_random()

    def cycle_key(self) -> None:
        """A new key for the same data: the old key's row goes, the new key's is written once, by the next save.

        Django's `cycle_key` INSERTs a row under the new key at once, with the data as it is
        then, and the response's save UPDATEs it with what the request added next (at a
        sign-in: the account): two writes, and two cache copies in production. Here the
        session is left without a key, so that save is `create()`: one INSERT of the whole
        data under a new random key (must_create: a clash draws again).

        The old key is dead from here on for this session, as with Django's. Its row is
        deleted at once in autocommit. Inside a transaction (the sign-in's) its DELETE waits
        for the new key's INSERT, to go with it (on PostgreSQL in the same statement), when
        that comes in the same transaction at the same savepoint; nobody else sees the row go
        before the commit either way. Otherwise it is deleted when the transaction commits,
        and not when it rolls back (as the DELETE it stands for).
        """
        data = self._session
        key = self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True
        if not key:
            return
        using = router.db_for_write(AccountSession)
        connection = connections[using]
        if not connection.in_atomic_block:
            self.delete(key)
            return
        if self._replaced is not None:  # a key replaced earlier that no INSERT took: its DELETE now
            earlier, self._replaced = self._replaced[0], None
            self.delete(earlier)
        self._replaced = (key, using, tuple(connection.savepoint_ids))
        transaction.on_commit(lambda: self._replaced_delete(key), using=using)

    def _replaced_take(self, using: str) -> str | None:
        """The key cycle_key replaced, for the INSERT about to run to delete its row; None when
        there is none, or when that INSERT runs in another transaction or savepoint."""
        replaced = self._replaced
        if replaced is None:
            return None
        key, replaced_using, savepoints = replaced
        connection = connections[using]
        if replaced_using != using or not connection.in_atomic_block or tuple(connection.savepoint_ids) != savepoints:
            return None
        self._replaced = None
        return key

    def _replaced_delete(self, key: str) -> None:
        # At commit: the replaced row no INSERT took with it (deleted now, in autocommit).
        replaced = self._replaced
        if replaced is not None and replaced[0] == key:
            self._replaced = None
            self.delete(key)

    def _row_deleted(self, session_key: str, using: str) -> None:
        """Called once the DELETE of `session_key`'s row has run (inside the caller's
        transaction, if any). The cached store forgets its copy here."""

    def save(self, must_create: bool = False) -> None:
        """Django's database save, without its transaction when none is open.

        Django wraps the one INSERT or UPDATE in `atomic()` so that a clash does not break
        a transaction around it; here the INSERT of a new key does nothing on a clash (ON
        CONFLICT DO NOTHING), so it needs no savepoint inside a transaction, and in
        autocommit the statement is atomic by itself (Django's BEGIN / COMMIT are two more
        round trips). The statement is plain SQL (`_session_sql`), with Django's errors: a
        clashing new key is CreateError, an update that finds no row UpdateError.

        A save that would write what this store has already committed (the same key, the
        same data) writes nothing: a flow that saves its session inside its own transaction
        (the sign-in, one commit) leaves the response's save nothing to do.
        """
        if self.session_key is None:
            self.create()
            return
        if not must_create and self.saved_as_is():
            return
        data = self._get_session(no_load=must_create)
        obj = self.create_model_instance(data)
        using = router.db_for_write(AccountSession, instance=obj)
        connection = connections[using]
        values = [obj.session_data, connection.ops.adapt_datetimefield_value(obj.expire_date), obj.account_id]
        replaced = self._replaced_take(using) if must_create else None
        try:
            with connection.cursor() as cursor:
                if replaced is not None and connection.vendor == "postgresql":
                    cursor.execute(_session_sql(using)["replace"], [replaced, obj.session_key, *values])
                elif must_create:
                    if replaced is not None:
                        cursor.execute(_session_sql(using)["delete"], [replaced])
                    cursor.execute(_session_sql(using)["insert"], [obj.session_key, *values])
                else:
                    cursor.execute(_session_sql(using)["update"], [*values, obj.session_key])
                written = cursor.rowcount
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
        if replaced is not None:
            self._row_deleted(replaced, using)
        if not written:
            # A new key already taken (the INSERT did nothing: no error to break a transaction
            # around it, so no savepoint is needed), or the row of an update gone (signed out
            # elsewhere), as Django's errors.
            raise CreateError if must_create else UpdateError
        self._saved_mark(using, obj.session_key, data)

    def saved_as_is(self) -> bool:
        """Whether the session's key and data are what this store last committed to its row."""
        cache = getattr(self, "_session_cache", None)
        return cache is not None and getattr(self, "_saved", None) == (self.session_key, cache)

    def _saved_mark(self, using: str, key: str, data: dict[str, Any]) -> None:
        # Marked once the row is committed: a transaction rolled back leaves the next save to write it.
        saved = (key, copy.deepcopy(data))
        transaction.on_commit(lambda: setattr(self, "_saved", saved), using=using)

    def delete(self, session_key: str | None = None) -> None:
        """Delete the row of `session_key` (default: this session's) in one statement, not a read then a delete."""
        session_key = session_key or self.session_key
        if session_key is None:
            return
        using = router.db_for_write(AccountSession)
        with connections[using].cursor() as cursor:
            cursor.execute(_session_sql(using)["delete"], [session_key])
        self._row_deleted(session_key, using)

    @classmethod
    def account_sessions_delete(cls, *, account_id: int, keep_key: str | None = None) -> list[str]:
        """Delete every session row of the account (except `keep_key`'s); returns their keys."""
        rows = AccountSession.objects.filter(account_id=account_id)
        if keep_key:
            rows = rows.exclude(session_key=keep_key)
        keys = list(rows.values_list("session_key", flat=True))
        AccountSession.objects.filter(session_key__in=keys).delete()
        return keys


class SessionStore(AccountSessionIndex, DBStore):
    pass
