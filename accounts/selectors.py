"""Reads of the accounts app (HackSoft selectors): nothing here changes data."""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CodeProgress:
    """Where the code being entered stands, for the code page and its status endpoint."""

    seconds_left: int  # until it expires; 0 once expired or no longer usable
    delivery: str | None  # one of DELIVERY_*; None when the code is unknown or settled


# What the resident is told about a code's delivery (the task records it: VerificationCode.Delivery).
DELIVERY_SENDING = "sending"  # queued, not yet DELIVERY_SLOW_AFTER old
DELIVERY_DELAYED = "delayed"  # queued for longer: retries, or a slow or stalled provider
DELIVERY_SENT = "sent"
DELIVERY_FAILED = "failed"  # refused, retries run out, the provider's circuit open, or never sent
_DELIVERY_OF: dict[str, str] = {
    VerificationCode.Delivery.SENT: DELIVERY_SENT,
    VerificationCode.Delivery.FAILED: DELIVERY_FAILED,
    VerificationCode.Delivery.SKIPPED: DELIVERY_FAILED,
}


def verification_code_progress(*, code_id: int | None) -> CodeProgress:
    """The code's time left and its delivery as the resident should read it (one query)."""
    from accounts.app_settings import app_settings

    row = (
        VerificationCode.objects.filter(pk=code_id).values_list("state", "delivery", "created_at", "expires_at").first()
        if code_id is not None
        else None
    )
    if row is None:
        return CodeProgress(seconds_left=0, delivery=None)
    state, delivery, created_at, expires_at = row
    now = timezone.now()
    if state == VerificationCode.State.CANCELLED:  # the broker refused it: nothing was sent
        return CodeProgress(seconds_left=0, delivery=DELIVERY_FAILED)
    if state != VerificationCode.State.PENDING:
        return CodeProgress(seconds_left=0, delivery=None)
    seconds_left = max(0, math.ceil((expires_at - now).total_seconds()))
    if delivery in _DELIVERY_OF:
        return CodeProgress(seconds_left=seconds_left, delivery=_DELIVERY_OF[delivery])
    slow = now - created_at >= app_settings.DELIVERY_SLOW_AFTER
    return CodeProgress(seconds_left=seconds_left, delivery=DELIVERY_DELAYED if slow else DELIVERY_SENDING)
