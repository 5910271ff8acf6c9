"""The language of an account's pages and messages (日本語 / English), kept on the account."""

from __future__ import annotations

from typing import TypeGuard

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User


def language_supported(language: str | None) -> TypeGuard[str]:
    """One of the site's LANGUAGES (Django's own check also passes languages we do not offer)."""
    return language in dict(settings.LANGUAGES)


@transaction.atomic
def user_language_set(*, user: User, language: str) -> User:
    """Remember `language` on the account: re-applied at each sign-in, used by its notices."""
    if not language_supported(language):
        raise ValidationError({"language": f"unsupported language {language!r}"})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user
