"""When the database cannot be reached: a 503 page rendered without it, and one warning, not an
error per request.

A PostgreSQL restart or stop makes every query fail at once. Those failures are not bugs: the
page says the service is briefly unavailable (with Retry-After, as for Redis), a posted form
says that nothing was saved and that the browser's Back button still holds what was typed,
and the log gets one warning per minute with a count instead of an Internal Server Error with
a traceback per request. `/healthz` says `database: unavailable`, so a load balancer drains.

Only connection failures count (`is_database_unavailable`); any other OperationalError (a
syntax error, a missing table, a statement timeout, a bad password at connect time aside) is
a bug or a configuration error and stays a 500 with its traceback.

Two ways in, because Django turns an exception into a response at every middleware layer:
`RefusalPagesMiddleware.process_exception` answers what a view raised (the common case: no
error is logged or signalled at all), and `server_error`, the site's handler500, answers what
a middleware raised on the way in or out (the session, the signed-in user, the profile gate),
which no process_exception sees.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import threading
import time
from http import HTTPStatus

from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger("myspacecore.database")

# Seconds a client is told to wait: a PostgreSQL restart takes a few seconds, a failover tens.
RETRY_AFTER = 30
# At most one warning per process in this many seconds while the outage lasts.
WARNING_INTERVAL = 60

# PostgreSQL SQLSTATEs that mean the connection is gone or cannot be had now: class 08
# (connection exception), the server shutting down or starting up (57P01-57P03), a session
# the server ended (57P05), no connection slot left (53300).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P05", "53300"})
# SQLite (the embedded default): a writer that waited the whole busy timeout (20 s) for the
# lock. Under load that is "try again", not a bug; every other SQLite error stays a 500.
_SQLITE_BUSY = ("database is locked", "database table is locked")


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (as Django raises it) says the database cannot be reached, not that a query is wrong.

    psycopg 3: an OperationalError without SQLSTATE is the client's own (refused, lost, closed
    connection); with one, only the connection classes above. SQLite: only "database is locked".
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause) in _SQLITE_BUSY
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a runtime dependency
        return False
    if not isinstance(cause, psycopg.OperationalError):
        return False
    sqlstate = cause.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


class _OutageLog:
    """One warning when an outage starts, then one a minute with how many requests got the 503."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_warning: float | None = None
        self._refused = 0

    def refused(self, exc: BaseException) -> None:
        now = self._clock()
        with self._lock:
            self._refused += 1
            if self._last_warning is not None and now - self._last_warning < WARNING_INTERVAL:
                return
            refused, self._refused, self._last_warning = self._refused, 0, now
        logger.warning(
            "database unavailable (%s: %s): %s request(s) answered 503 since the last warning",
            type(exc.__cause__ or exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
            refused,
        )

    def reset(self) -> None:
        with self._lock:
            self._last_warning, self._refused = None, 0


outage_log = _OutageLog()


def _language(request: HttpRequest) -> str:
    # LocaleMiddleware's choice when it ran; otherwise the same cookie and header it reads.
    return getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)


def database_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 page, rendered with no query: no session, no signed-in user, no context processor."""
    from myspacecore.context_processors import TEXT_SIZES, text_size_of

    outage_log.refused(exc)
    context = {
        "request": request,
        "user": AnonymousUser(),
        "csrf_token": get_token(request),  # from the cookie; the header's forms still work
        "text_size": text_size_of(request),
        "text_sizes": TEXT_SIZES,
        "form_posted": request.method == "POST",
        "retry_after": RETRY_AFTER,
    }
    with translation.override(_language(request)):
        content = render_to_string("503_database.html", context)
    response = HttpResponse(content, status=HTTPStatus.SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(RETRY_AFTER)
    add_never_cache_headers(response)
    # Logged above, once a minute: Django's log_response must not add an error per request.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """handler500: the database-outage page when that is what failed, else Django's own 500 page."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_unavailable(exc):
        return database_unavailable(request, exc)
    return defaults.server_error(request, template_name)
