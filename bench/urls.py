"""The product's URLs plus the benchmarks' baseline: a bare view behind the same stack."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from myspacecore.urls import handler500  # the root URLconf names the error handlers

__all__ = ["handler500", "urlpatterns"]


@login_required
@require_GET
def bare(request: HttpRequest) -> HttpResponse:
    """Every middleware and the session lookup run; no query, no template of its own."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("", include("myspacecore.urls")),
]
