"""The 429 page: when a rate limit applies, say so and say when to try again."""

from __future__ import annotations

import math
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def ratelimited(request: HttpRequest, exception=None, retry_after: int | None = None) -> HttpResponse:
    retry_after = retry_after or getattr(exception, "retry_after", None) or 60
    response = render(
        request,
        "429.html",
        {"retry_after_minutes": max(1, math.ceil(retry_after / 60)), "retry_after": retry_after},
        status=HTTPStatus.TOO_MANY_REQUESTS,
    )
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
