"""The language switch (日本語 / English) on every page, and the cookie that keeps the choice.

Django's `set_language` sets the cookie (for LANGUAGE_COOKIE_AGE, a year: the choice
outlives the browser session); for a signed-in resident the choice is also kept on the
account, and the sign-in applies the account's language again (`language_cookie_set`).
"""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.models import User
from accounts.services.language import language_supported, user_language_set

R = TypeVar("R", bound=HttpResponseBase)


@require_POST
def language_switch(request: HttpRequest) -> HttpResponseBase:
    """「日本語」 / 「English」: the cookie (Django's view), and the account's language when signed in."""
    response = set_language(request)
    language = request.POST.get("language")
    if not language_supported(language):
        # Django's view takes any language it has a catalogue of (fr, de, ...): not ours to keep.
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
        return response
    user = request.user
    if isinstance(user, User) and user.is_resident:
        user_language_set(user=user, language=language)
    return response


def language_cookie_set(response: R, language: str) -> R:
    """The language cookie, as Django's `set_language` sets it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
