"""Who may open a resident page: a signed-in resident, and what the account's attribute allows.

What an attribute allows is asked of the attribute (`can_set_email`, `can_change_phone`),
never of its code; a refused page or POST answers 403 and changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import User


def can_set_email(user: User) -> bool:
    return bool(user.attribute and user.attribute.can_set_email)


def can_change_phone(user: User) -> bool:
    return bool(user.attribute and user.attribute.can_change_phone)


def resident_required(view):
    """Signed in as a resident (staff have no profile: 403, not a crash)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_resident:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def attribute_allows(allows: Callable[[User], bool]):
    """403 unless `allows(request.user)`; goes inside `resident_required` (or a decorator built on it)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not allows(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
