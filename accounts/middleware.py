"""The accounts app's middleware: the roster-invitation gate and the profile gate."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty

from accounts.flows.signin import INVITATIONS_PENDING

# Paths a resident without a profile may still reach (besides the wizard itself).
ALLOWED_PREFIXES = ("/signout/", "/i18n/", "/text-size/", "/static/", "/healthz", "/help/", "/mypage/invitations/")


class LeaseInvitationsMiddleware:
    """Right after a sign-in, a resident whose number an operator registered is shown that
    entry first, to accept or decline, before registration or My page.

    The sign-in flow looks once (one indexed EXISTS) and leaves a flag in the new session;
    this shows the page once per sign-in ("later" leads on to the site), and My page keeps
    listing what still waits. No query here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(INVITATIONS_PENDING) and not request.path.startswith(ALLOWED_PREFIXES):
            del session[INVITATIONS_PENDING]
            return redirect("accounts:invitations")
        return self.get_response(request)


class ProfileRequiredMiddleware:
    """A signed-in resident without a MySpaceCore profile can reach only the registration wizard."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        # The path first: the lazy user is read (a query) only where the rule applies, so the
        # health check and static files never touch the database for a signed-in browser.
        # hasattr() caches the profile on the user, so the view reuses it (the session's user
        # comes with it: no query). The wizard's path is reversed only for a resident without
        # one: a reverse() on every page was ~5 % of a bare request's CPU.
        if user is not None and not request.path.startswith(ALLOWED_PREFIXES):
            # Read here anyway: from now on the view and its templates get the user itself, not
            # the two lazy proxies around it (the session's, then django-otp's), which every
            # attribute read went through (a page reads ~50).
            user = request.user = lazy_unwrapped(user)
            if user.is_authenticated and user.is_resident and not hasattr(user, "profile"):
                register_prefix = reverse("accounts:register")
                if not request.path.startswith(register_prefix):
                    return redirect(register_prefix)
        return self.get_response(request)


def lazy_unwrapped(value):
    """What Django's lazy objects around `value` stand for (evaluating them), else `value`."""
    while isinstance(value, LazyObject):
        if value._wrapped is empty:
            value._setup()
        value = value._wrapped
    return value
