"""Who may open a resident's page: a signed-in resident. Staff are signed in too, and get 403.

A resident page shows personal data (the phone number, the address, PINs' labels), so every
answer behind this rule says `Cache-Control: no-store` (Django's `never_cache`): after
signing out, the Back button must not show the page from the browser's cache. Being here,
a new resident view gets it by being a resident view (tests/accounts/test_no_store.py walks
every URL to hold that).

The rule is asked of the account (`is_resident`), so it knows no room. accounts' pages use
`accounts.views.access.resident_required`, built on the same check, which also types
`request.user` as accounts' User; smarthome's pages use `resident_required` below, since
the rooms' layers keep smarthome from importing accounts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


def is_resident_request(request: HttpRequest) -> bool:
    """The request is of a signed-in resident (not anonymous, not staff)."""
    return request.user.is_authenticated and request.user.is_resident


def resident_required(view: Callable[Concatenate[HttpRequest, P], R]) -> Callable[Concatenate[HttpRequest, P], R]:
    """Signed in (else the sign-in page) as a resident (else 403); never stored by a browser."""

    @never_cache
    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
        if not is_resident_request(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
