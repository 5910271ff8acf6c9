"""Who may open a resident page: a signed-in resident, and what the account's attribute allows.

`resident_required` is the site's one rule (`myspacecore.core.access`: signed in, a
resident, never stored by a browser), typed here so `request.user` is accounts' User.

What an attribute allows is asked of the attribute (`can_set_email`, `can_change_phone`),
never of its code; a refused page or POST changes nothing and answers 403, or the page
that says whom to ask instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from accounts.models import User
from myspacecore.core import access

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)


class ResidentRequest(HttpRequest):
    """A request that `resident_required` let through: `user` is a signed-in resident.

    Only a type: the object is Django's own request. A view under `resident_required` takes
    `request: ResidentRequest`, so `request.user` is our `User`, never `AnonymousUser`,
    without a cast; the decorator is the one place that checks it.
    """

    user: User


def can_set_email(user: User) -> bool:
    return bool(user.attribute and user.attribute.can_set_email)


def can_change_phone(user: User) -> bool:
    return bool(user.attribute and user.attribute.can_change_phone)


def resident_required(
    view: Callable[Concatenate[ResidentRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """Signed in as a resident (staff have no profile: 403, not a crash); `Cache-Control: no-store`.

    The site's rule itself (`myspacecore.core.access.resident_required`), which lets through
    only a resident: the view's `ResidentRequest` is what it then receives.
    """
    return access.resident_required(cast("Callable[Concatenate[HttpRequest, P], R]", view))


def attribute_allows(
    allows: Callable[[User], bool],
    *,
    refused: Callable[[ResidentRequest], HttpResponseBase] | None = None,
) -> Callable[[Callable[Concatenate[ResidentRequest, P], R]], Callable[Concatenate[ResidentRequest, P], R]]:
    """Unless `allows(request.user)`: the `refused` page (a page that says who can do it
    instead), else 403. Nothing changes either way. Goes inside `resident_required`."""

    def decorator(view: Callable[Concatenate[ResidentRequest, P], R]) -> Callable[Concatenate[ResidentRequest, P], R]:
        @functools.wraps(view)
        def wrapper(request: ResidentRequest, *args: P.args, **kwargs: P.kwargs) -> R:
            if not allows(request.user):
                if refused is None:
                    raise PermissionDenied
                # The page in place of the view's own answer (a response either way).
                return cast("R", refused(request))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
