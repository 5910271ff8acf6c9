"""A lost database connection answers the outage page (503, Retry-After, nothing of the
database needed to render it) wherever it surfaces, and is logged as one warning; any other
database error stays a 500."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from http import HTTPStatus

import psycopg
import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, ProgrammingError, connection
from django.test import Client

from myspacecore.core import database_outage
from myspacecore.core.database_outage import _OutageLog, is_database_unavailable
from tests.accounts.profile_helpers import signed_in
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def wrapped(cause: BaseException, django_error: type[Exception] = OperationalError) -> Exception:
    """The error as Django's DatabaseErrorWrapper raises it: its own class, the driver's as cause."""
    error = django_error(*cause.args)
    error.__cause__ = cause
    return error


REFUSED = psycopg.OperationalError(
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
)


@contextlib.contextmanager
def database_down(cause: BaseException = REFUSED, *, only: str = ""):
    """Every query (or those whose SQL contains `only`) fails as `cause` would through Django."""

    def refuse(execute, sql, params, many, context):
        if only in sql:
            raise wrapped(cause)
        return execute(sql, params, many, context)

    database_outage.outage_log.reset()
    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture
def resident_client():
    return signed_in(ProfileFactory().user)


def assert_outage_page(response, *, posted: bool = False) -> str:
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    content = response.content.decode()
    assert "ただいまご利用いただけません" in content and 'class="site-header"' in content
    assert ("送信した内容は保存されていません" in content) is posted
    return content


@pytest.mark.parametrize(
    "cause",
    [
        REFUSED,
        psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
        psycopg.OperationalError("the connection is closed"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.errors.ConnectionFailure("connection failure"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=lambda cause: type(cause).__name__ + ":" + str(cause)[:24],
)
def test_connection_failures_count_as_the_database_unavailable(cause):
    assert is_database_unavailable(wrapped(cause))


@pytest.mark.parametrize(
    "error",
    [
        wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")),
        wrapped(psycopg.errors.DiskFull("could not extend file")),
        wrapped(sqlite3.OperationalError("no such table: accounts_user")),
        wrapped(psycopg.errors.UndefinedTable("relation does not exist"), ProgrammingError),
        wrapped(psycopg.InterfaceError("cannot execute operations: the connection is in status 2"), InterfaceError),
        OperationalError("raised by our own code, no driver cause"),
        ValueError("not a database error"),
    ],
    ids=lambda error: type(error.__cause__ or error).__name__,
)
def test_other_database_errors_are_not_an_outage(error):
    assert not is_database_unavailable(error)


def test_signed_in_page_whose_session_lookup_fails_in_a_middleware_answers_503(resident_client, caplog):
    # The session and the user are first read by a middleware (the profile gate): the error
    # surfaces there, before any view, where only handler500 sees it.
    resident_client.raise_request_exception = False
    with caplog.at_level(logging.INFO), database_down():
        response = resident_client.get("/mypage/")
    assert_outage_page(response)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in caplog.records if r.levelno == logging.WARNING] == ["myspacecore.database"]


def test_form_posted_during_the_outage_says_nothing_was_saved_and_back_keeps_the_input(caplog):
    client = Client()
    with caplog.at_level(logging.INFO), database_down():
        response = client.post("/signin/", {"phone_number": "090-1234-5678"})
    content = assert_outage_page(response, posted=True)
    assert "「戻る」で前の画面に戻ると、入力した内容が残っています" in content
    assert "data-history-back" in content
    # Nothing echoed back: the page holds none of what was posted.
    assert "1234" not in content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_session_write_failing_on_the_way_out_answers_503():
    client = Client(raise_request_exception=False)
    client.get("/signin/")
    # The phone page's POST saves the session after the view ran (SessionMiddleware's response
    # phase): only the session table's queries fail, whichever store the settings name.
    from django.contrib.sessions.backends.db import SessionStore as DBStore
    from django.utils.module_loading import import_string

    store = import_string(settings.SESSION_ENGINE + ".SessionStore")
    assert issubclass(store, DBStore)
    with database_down(only=store.get_model_class()._meta.db_table):
        response = client.post("/signin/", {"phone_number": "090-1234-5678"})
    assert_outage_page(response, posted=True)


def test_outage_page_in_english():
    client = Client()
    client.cookies["django_language"] = "en"
    with database_down():
        response = client.post("/signin/", {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "temporarily unavailable" in response.content.decode()


def test_sqlite_database_is_locked_answers_503_not_500():
    with database_down(sqlite3.OperationalError("database is locked")):
        response = Client().post("/signin/", {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_a_real_database_bug_stays_a_500_and_is_logged_as_an_error(caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO), database_down(sqlite3.OperationalError("no such column: nickname")):
        response = client.post("/signin/", {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "エラーが発生しました" in response.content.decode()
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == ["django.request"]


def test_outage_logs_one_warning_a_minute_with_the_count_of_refused_requests(caplog):
    now = [1000.0]
    log = _OutageLog(clock=lambda: now[0])
    error = wrapped(REFUSED)
    with caplog.at_level(logging.WARNING, logger="myspacecore.database"):
        for _ in range(5):
            log.refused(error)
        now[0] += 61
        log.refused(error)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "Connection refused" in messages[0] and "1 request(s)" in messages[0]
    assert "5 request(s)" in messages[1]


def test_healthz_names_the_database_and_logs_a_warning_not_an_error(caplog):
    client = Client()
    with caplog.at_level(logging.INFO), database_down():
        response = client.get("/healthz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["database"] == "unavailable"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
