"""How large a request body may be, decided before anything reads it: 413 beyond that.

Django bounds the non-file part of a form (DATA_UPLOAD_MAX_MEMORY_SIZE) but not its files:
a 20 MB file part on any form would be parsed and spooled to disk. Our forms need a few
kilobytes, and one page takes a file (the roster CSV import). So every request announcing a
body over `REQUEST_BODY_MAX_BYTES` is answered 413 before its body is read, except the URL
names of `REQUEST_BODY_MAX_BYTES_BY_URL_NAME`, which have their own ceiling.

It runs in process_view, once the URL is resolved (so the page is known) and before
CsrfViewMiddleware, whose token check would parse the body. A proxy in front may refuse
earlier; this holds without one.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render

# Every form of ours fits well inside this; a request may be this large without a file.
DEFAULT_MAX_BYTES = 256 * 1024


def request_body_limit(request: HttpRequest) -> int:
    """The largest body, in bytes, the page `request` resolved to accepts."""
    match = request.resolver_match
    by_name = getattr(settings, "REQUEST_BODY_MAX_BYTES_BY_URL_NAME", {})
    if match is not None and match.view_name in by_name:
        return by_name[match.view_name]
    return getattr(settings, "REQUEST_BODY_MAX_BYTES", DEFAULT_MAX_BYTES)


def _announced_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        # Garbage where a number belongs: no body will be read (Django reads none), so none is too large.
        return 0


class RequestBodyLimitMiddleware:
    """Answers 413 (a page, not a bare error) to a body larger than its page accepts."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = request_body_limit(request)
        if _announced_length(request) <= limit:
            return None
        response = render(
            request,
            "413.html",
            {"limit_kb": max(1, limit // 1024)},
            status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        )
        # The body was never read: the connection cannot carry another request after it.
        response["Connection"] = "close"
        return response
