"""The accounts app's middleware: the profile gate."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

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
