"""The refusal pages: 429 (a rate limit: say when to try again), 503 (a service is down:
nothing was done), the CSRF 403, and the middleware that answers the refusals every room
raises (`myspacecore.core.exceptions`) with them, and a view's lost database connection with
the outage page (`myspacecore.core.database_outage`)."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from myspacecore.core.database_outage import database_unavailable, is_database_unavailable
from myspacecore.core.exceptions import RateLimited, ServiceUnavailable
from myspacecore.core.timestamps import clock_text, duration_text


def ratelimited(request: HttpRequest, exception=None, retry_after: int | None = None, reason: str = "") -> HttpResponse:
    """429: why (the limit's reason, else a generic one) and from when to try again (a clock
    time and the length left), with Retry-After."""
    retry_after = retry_after or getattr(exception, "retry_after", None) or 60
    context = {
        "reason": reason or getattr(exception, "reason", ""),
        "retry_at": clock_text(timezone.now() + timedelta(seconds=retry_after)),
        "retry_left": duration_text(retry_after),
        "retry_after": retry_after,
    }
    response = render(request, "429.html", context, status=HTTPStatus.TOO_MANY_REQUESTS)
    response["Retry-After"] = str(int(retry_after))
    return response


def delivery_unavailable(request: HttpRequest, retry_after: int = 60) -> HttpResponse:
    """503: a code could not be queued for sending (the task broker is down). Nothing was sent."""
    response = render(request, "503.html", status=HTTPStatus.SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(retry_after)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the site's 403 page saying what most likely happened and what to do."""
    return render(request, "403.html", {"csrf_failure": True}, status=HTTPStatus.FORBIDDEN)


class RefusalPagesMiddleware:
    """Answers the refusals a code flow raises with their pages, so no view repeats the mapping.

    RateLimited -> the 429 page (with Retry-After); ServiceUnavailable (the limits' store is
    down, the broker refused a code's task) -> the 503 page. The same shape as
    django-ratelimit's own RatelimitMiddleware. Nothing was changed when these are raised:
    the rate-limit checks run before the engine, and a refused delivery cancels its code.
    A view that lost the database gets the outage page (a middleware that did: handler500).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return ratelimited(request, retry_after=exception.retry_after, reason=exception.reason)
        if isinstance(exception, ServiceUnavailable):
            return delivery_unavailable(request)
        if is_database_unavailable(exception):
            return database_unavailable(request, exception)
        return None
