"""Production's session store (myspacecore.sessions): the database decides, the cache only helps."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.cache.backends.locmem import LocMemCache

from accounts.models import AccountSession
from myspacecore import sessions

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


class UnreachableCache(LocMemCache):
    """A cache whose server cannot be reached: every call raises, as redis-py's client does."""

    def _fail(self, *args, **kwargs):
        raise ConnectionError("cache unreachable")

    get = set = add = delete = has_key = _fail


class CountingCache(LocMemCache):
    """A cache that counts its writes."""

    sets = 0

    def set(self, *args, **kwargs):
        CountingCache.sets += 1
        return super().set(*args, **kwargs)


@pytest.fixture
def session_caches(settings):
    CountingCache.sets = 0
    settings.CACHES = {
        **settings.CACHES,
        "sessions-up": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sessions-up"},
        "sessions-counted": {"BACKEND": "tests.foundation.test_sessions.CountingCache", "LOCATION": "sessions-counted"},
        "sessions-down": {"BACKEND": "tests.foundation.test_sessions.UnreachableCache", "LOCATION": "sessions-down"},
    }
    return settings


def store(settings, alias: str, session_key: str | None = None) -> sessions.SessionStore:
    settings.SESSION_CACHE_ALIAS = alias
    return sessions.SessionStore(session_key)


def test_with_the_cache_unreachable_sessions_are_saved_read_and_deleted_in_the_database(session_caches):
    session = store(session_caches, "sessions-down")
    session["resident"] = 1
    session.save()
    key = session.session_key

    assert AccountSession.objects.filter(session_key=key).exists()
    again = store(session_caches, "sessions-down", key)
    assert again["resident"] == 1
    assert again.exists(key)
    again.delete()
    assert not AccountSession.objects.filter(session_key=key).exists()
    assert store(session_caches, "sessions-down", key).load() == {}


def test_a_cached_copy_whose_delete_was_missed_lives_ten_minutes_not_the_session_age(
    session_caches, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW, tick=False) as clock:
        session = store(session_caches, "sessions-up")
        session["resident"] = 1
        with django_capture_on_commit_callbacks(execute=True):  # the copy is set once the row commits
            session.save()
        key = session.session_key
        # The sign-out reached the database but not the cache (a partition): a copy remains.
        AccountSession.objects.filter(session_key=key).delete()
        assert store(session_caches, "sessions-up", key).load() == {"resident": 1}

        clock.shift(datetime.timedelta(seconds=sessions.CACHED_COPY_MAX_AGE + 1))
        assert store(session_caches, "sessions-up", key).load() == {}


def test_a_session_read_from_the_database_is_cached_again(session_caches, django_assert_num_queries):
    session = store(session_caches, "sessions-up")
    session["resident"] = 1
    session.save()
    key = session.session_key
    session._cache.delete(session.cache_key)

    with django_assert_num_queries(1):
        assert store(session_caches, "sessions-up", key).load() == {"resident": 1}
    with django_assert_num_queries(0):
        assert store(session_caches, "sessions-up", key).load() == {"resident": 1}


def test_an_accounts_sessions_go_from_the_table_and_the_cache_at_once(session_caches):
    signed_in = []
    for _device in range(2):
        session = store(session_caches, "sessions-up")
        session[SESSION_KEY] = "41"
        session.save()
        signed_in.append(session.session_key)
    anonymous = store(session_caches, "sessions-up")
    anonymous["text"] = "large"
    anonymous.save()
    assert set(AccountSession.objects.filter(account_id=41).values_list("session_key", flat=True)) == set(signed_in)

    deleted = sessions.SessionStore.account_sessions_delete(account_id=41, keep_key=signed_in[0])

    assert deleted == [signed_in[1]]
    assert not AccountSession.objects.filter(session_key=signed_in[1]).exists()
    assert store(session_caches, "sessions-up", signed_in[1]).load() == {}
    assert store(session_caches, "sessions-up", signed_in[0]).load() == {SESSION_KEY: "41"}
    assert AccountSession.objects.filter(session_key=anonymous.session_key, account_id=None).exists()


# Outside a test transaction, as a request runs (no savepoint around each statement).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_new_session_is_written_once_to_the_table_and_once_to_the_cache(session_caches, django_assert_num_queries):
    session = store(session_caches, "sessions-counted")
    session["resident"] = 1

    with django_assert_num_queries(1):
        session.save()

    assert CountingCache.sets == 1
    assert store(session_caches, "sessions-counted", session.session_key).load() == {"resident": 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_cycled_key_is_dead_at_once_and_the_new_one_written_once_with_all_the_data(
    session_caches, django_assert_num_queries
):
    session = store(session_caches, "sessions-counted")
    session["resident"] = 1
    session.save()
    old_key = session.session_key
    CountingCache.sets = 0

    with django_assert_num_queries(1):  # the old row's DELETE
        session.cycle_key()
    assert store(session_caches, "sessions-counted", old_key).load() == {}
    session[SESSION_KEY] = "41"
    with django_assert_num_queries(1):  # the new row's INSERT
        session.save()

    assert CountingCache.sets == 1
    assert session.session_key not in (None, old_key)
    assert AccountSession.objects.get(session_key=session.session_key).account_id == 41
    assert store(session_caches, "sessions-counted", session.session_key).load() == {"resident": 1, SESSION_KEY: "41"}
    assert not AccountSession.objects.filter(session_key=old_key).exists()


def test_a_new_session_key_is_32_uniform_key_characters_from_one_read_of_the_systems_randomness(monkeypatch):
    from collections import Counter

    from django.contrib.sessions.backends.base import VALID_KEY_CHARS

    from accounts import sessions as account_sessions

    reads = []
    token_bytes = account_sessions.secrets.token_bytes
    monkeypatch.setattr(account_sessions.secrets, "token_bytes", lambda n: reads.append(n) or token_bytes(n))
    key = sessions.SessionStore()._get_new_session_key()
    assert len(key) == 32 and set(key) <= set(VALID_KEY_CHARS)
    assert len(reads) == 1

    # Uniform: over 3,600 keys (3,200 characters each expected), every character within 10 %.
    counts = Counter("".join(account_sessions.session_key_random() for _ in range(3600)))
    assert set(counts) == set(VALID_KEY_CHARS)
    assert all(2880 < n < 3520 for n in counts.values()), counts


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_cached_copy_waits_for_the_rows_commit_and_a_rolled_back_row_leaves_none(session_caches):
    from django.db import transaction

    session = store(session_caches, "sessions-counted")
    session["resident"] = 1
    with transaction.atomic():
        session.save()
        key = session.session_key
        assert CountingCache.sets == 0  # not before the commit
    assert CountingCache.sets == 1

    again = store(session_caches, "sessions-counted", key)
    again["resident"] = 2
    with pytest.raises(RuntimeError), transaction.atomic():
        again.save()
        raise RuntimeError("rolled back")
    assert CountingCache.sets == 1
    assert store(session_caches, "sessions-counted", key).load() == {"resident": 1}


def test_a_clashing_new_key_inside_a_transaction_is_one_statement_and_leaves_the_transaction_usable(
    session_caches, django_assert_num_queries
):
    from django.contrib.sessions.backends.base import CreateError
    from django.db import transaction

    first = store(session_caches, "sessions-counted")
    first["resident"] = 1
    first.save()
    clash = store(session_caches, "sessions-counted", first.session_key)
    clash._session_cache = {"resident": 2}

    with transaction.atomic():
        with django_assert_num_queries(1), pytest.raises(CreateError):  # no savepoint around it
            clash.save(must_create=True)
        assert AccountSession.objects.filter(session_key=first.session_key).count() == 1

    assert store(session_caches, "sessions-counted", first.session_key).load() == {"resident": 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_deleted_rows_copy_goes_when_the_delete_commits_and_stays_when_it_rolls_back(session_caches):
    from django.db import transaction

    session = store(session_caches, "sessions-up")
    session["resident"] = 1
    session.save()
    key = session.session_key
    copy_key = session.cache_key

    with pytest.raises(RuntimeError), transaction.atomic():
        session.delete()
        raise RuntimeError("rolled back")
    # Row and copy as they were: the copy still mirrors the row.
    assert AccountSession.objects.filter(session_key=key).exists()
    assert session._cache.get(copy_key) == {"resident": 1}

    with transaction.atomic():
        session.delete()
        assert session._cache.get(copy_key) == {"resident": 1}  # the row is still what others read
    assert session._cache.get(copy_key) is None
    assert not AccountSession.objects.filter(session_key=key).exists()
    assert store(session_caches, "sessions-up", key).load() == {}


def _signed_in_session(session_caches, alias="sessions-up"):
    session = store(session_caches, alias)
    session["resident"] = 1
    session.save()
    return session, session.session_key, session.cache_key


def _row(key: str) -> bool:
    return AccountSession.objects.filter(session_key=key).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_transaction_a_cycled_keys_row_goes_with_the_new_keys_insert(session_caches):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    session, old_key, old_copy = _signed_in_session(session_caches)

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        session.cycle_key()
        assert _row(old_key)  # not yet: it goes with the INSERT
        session[SESSION_KEY] = "41"
        session.save()
        assert session._cache.get(old_copy) == {"resident": 1}  # the copy waits for the commit
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("WITH", "INSERT", "DELETE"))]

    # PostgreSQL: one statement (DELETE in a WITH, then the INSERT); elsewhere the two.
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2), writes
    assert not _row(old_key) and session._cache.get(old_copy) is None
    assert AccountSession.objects.get(session_key=session.session_key).account_id == 41
    assert store(session_caches, "sessions-up", old_key).load() == {}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_transaction_a_cycled_key_with_no_save_after_it_goes_at_the_commit(session_caches):
    from django.db import transaction

    session, old_key, old_copy = _signed_in_session(session_caches)

    with transaction.atomic():
        session.cycle_key()
        assert _row(old_key)

    assert not _row(old_key) and session._cache.get(old_copy) is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_save_in_an_inner_savepoint_leaves_the_cycled_keys_row_to_the_commit(session_caches):
    from django.db import transaction

    session, old_key, old_copy = _signed_in_session(session_caches)

    with transaction.atomic():
        session.cycle_key()
        with pytest.raises(RuntimeError), transaction.atomic():
            session.save()  # in a savepoint that rolls back: it must not take the old row with it
            raise RuntimeError("rolled back")
        assert _row(old_key)

    assert not _row(old_key) and session._cache.get(old_copy) is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rolled_back_sign_in_keeps_the_old_keys_row_and_copy(session_caches):
    from django.db import transaction

    session, old_key, old_copy = _signed_in_session(session_caches)

    with pytest.raises(RuntimeError), transaction.atomic():
        session.cycle_key()
        session.save()
        raise RuntimeError("rolled back")

    assert _row(old_key) and session._cache.get(old_copy) == {"resident": 1}
    assert not AccountSession.objects.exclude(session_key=old_key).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_key_cycled_twice_in_a_transaction_leaves_neither_old_row(session_caches):
    from django.db import transaction

    session, first_key, _copy = _signed_in_session(session_caches)

    with transaction.atomic():
        session.cycle_key()
        with transaction.atomic():
            session.save()  # a new key, in a savepoint: it does not take the first key's row
        second_key = session.session_key
        session.cycle_key()
        session.save()
    assert not _row(first_key) and not _row(second_key)
    assert list(AccountSession.objects.values_list("session_key", flat=True)) == [session.session_key]
