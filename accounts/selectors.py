"""Reads of the accounts app (HackSoft selectors): nothing here changes data."""

from __future__ import annotations

import math

from django.utils import timezone

from accounts.models import Profile, User, VerificationCode


def email_in_use(*, email: str, exclude_user: User | None = None) -> bool:
    """Whether another account's profile has this address (case-insensitively, as the constraint)."""
    profiles = Profile.objects.filter(email__iexact=email.strip())
    if exclude_user is not None:
        profiles = profiles.exclude(user=exclude_user)
    return profiles.exists()


def phone_in_use(*, phone: str, exclude_user: User | None = None) -> bool:
    """Whether another account signs in with this E.164 number."""
    users = User.objects.filter(phone_number=phone)
    if exclude_user is not None:
        users = users.exclude(pk=exclude_user.pk)
    return users.exists()


def verification_code_seconds_left(*, code_id: int | None) -> int:
    """Seconds until the code expires (0 when unknown, expired or no longer usable), for the page's countdown."""
    if code_id is None:
        return 0
    expires_at = (
        VerificationCode.objects.filter(pk=code_id, state=VerificationCode.State.PENDING)
        .values_list("expires_at", flat=True)
        .first()
    )
    if expires_at is None:
        return 0
    return max(0, math.ceil((expires_at - timezone.now()).total_seconds()))
