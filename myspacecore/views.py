"""Site-wide pages: home, the text-size switch and the health endpoint."""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from .context_processors import TEXT_SIZE_COOKIE, TEXT_SIZES

logger = logging.getLogger(__name__)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.user.is_resident:
        return redirect("accounts:mypage")
    return render(request, "home.html")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@require_POST
def text_size(request: HttpRequest) -> HttpResponse:
    """Remember the chosen text size in a cookie (works without JavaScript)."""
    response = HttpResponseRedirect(_safe_next(request))
    size = request.POST.get("size")
    if size in TEXT_SIZES:
        response.set_cookie(
            TEXT_SIZE_COOKIE,
            size,
            max_age=60 * 60 * 24 * 365,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("healthz", "ok", 10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return what was stored")


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from myspacecore.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, cache and broker: 200 when all answer, 503 naming the ones that do not."""
    report: dict[str, str] = {}
    for name, check in (("database", _check_database), ("cache", _check_cache), ("broker", _check_broker)):
        try:
            report[name] = check() or "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy; say which
            logger.warning("healthz: %s unavailable: %s", name, type(exc).__name__)
            report[name] = "unavailable"
    healthy = all(value in ("ok", "eager") for value in report.values())
    status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
    response = JsonResponse({"status": "ok" if healthy else "unhealthy", **report}, status=status)
    # Its warning above says which service; a load balancer polling through an outage must
    # not add Django's "Service Unavailable" error line for every probe.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
