"""The accounts app's middleware: the profile gate, and the pages of the code flows' refusals."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

from accounts.ratelimits import RateLimited, RateLimitUnavailable
from accounts.services.verification import DeliveryUnavailable
from accounts.views.errors import delivery_unavailable, ratelimited

# Paths a resident without a profile may still reach (besides the wizard itself).
ALLOWED_PREFIXES = ("/signout/", "/i18n/", "/text-size/", "/static/", "/healthz", "/help/")


class ProfileRequiredMiddleware:
    """A signed-in resident without a MySpaceCore profile can reach only the registration wizard."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_resident
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            register_prefix = reverse("accounts:register")
            # hasattr() caches the profile on the user, so the view reuses it.
            if not request.path.startswith(register_prefix) and not hasattr(user, "profile"):
                return redirect(register_prefix)
        return self.get_response(request)


class RefusalPagesMiddleware:
    """Answers the refusals a code flow raises with their pages, so no view repeats the mapping.

    RateLimited -> the 429 page (with Retry-After); RateLimitUnavailable (the limits' store is
    down) and DeliveryUnavailable (the broker refused the task) -> the 503 page. The same
    shape as django-ratelimit's own RatelimitMiddleware. Nothing was changed when these are
    raised: the rate-limit checks run before the engine, and a refused delivery cancels its code.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return ratelimited(request, retry_after=exception.retry_after)
        if isinstance(exception, RateLimitUnavailable | DeliveryUnavailable):
            return delivery_unavailable(request)
        return None
