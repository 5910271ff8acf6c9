"""Who may open a resident page: a signed-in resident, and what the account's attribute allows.

What an attribute allows is asked of the attribute (`can_set_email`, `can_change_phone`),
never of its code; a refused page or POST answers 403 and changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeGuard, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from accounts.models import User
from myspacecore.core.access import is_resident_request

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


class ResidentRequest(HttpRequest):
    """A request that `resident_required` let through: `user` is a signed-in resident.

    Only a type: the object is Django's own request. A view under `resident_required` takes
    `request: ResidentRequest`, so `request.user` is our `User`, never `AnonymousUser`,
    without a cast; the decorator is the one place that checks it.
    """

    user: User


def _is_resident_request(request: HttpRequest) -> TypeGuard[ResidentRequest]:
    # The site's one rule (smarthome's pages ask it too); here it also narrows the type.
    return is_resident_request(request)


def can_set_email(user: User) -> bool:
    return bool(user.attribute and user.attribute.can_set_email)


def can_change_phone(user: User) -> bool:
    return bool(user.attribute and user.attribute.can_change_phone)


def resident_required(
    view: Callable[Concatenate[ResidentRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """Signed in as a resident (staff have no profile: 403, not a crash)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
        if not _is_resident_request(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def attribute_allows(
    allows: Callable[[User], bool],
) -> Callable[[Callable[Concatenate[ResidentRequest, P], R]], Callable[Concatenate[ResidentRequest, P], R]]:
    """403 unless `allows(request.user)`; goes inside `resident_required` (or a decorator built on it)."""

    def decorator(view: Callable[Concatenate[ResidentRequest, P], R]) -> Callable[Concatenate[ResidentRequest, P], R]:
        @functools.wraps(view)
        def wrapper(request: ResidentRequest, *args: P.args, **kwargs: P.kwargs) -> R:
            if not allows(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
