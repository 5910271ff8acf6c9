"""Reads of the accounts app (HackSoft selectors): nothing here changes data."""

from __future__ import annotations

import math

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import HelpFeedback, Operator, Profile, User, VerificationCode

# The operator of the latest current lease (`Lease.objects.current()`: started, not ended).
# Plain SQL: building the ORM's lease -> unit -> property -> operator select_related took
# ~1.5 ms of CPU per edit page, about ten times running it (bench/README.md, pages.py).
_OPERATOR_CONTACT_SQL = """
    SELECT * FROM accounts_operator WHERE id = (
        SELECT p.operator_id FROM accounts_lease l
        JOIN accounts_unit u ON u.id = l.unit_id
        JOIN accounts_property p ON p.id = u.property_id
        WHERE l.resident_id = %s AND l.start_date <= %s AND (l.end_date IS NULL OR l.end_date >= %s)
        ORDER BY l.start_date DESC, l.id DESC
        LIMIT 1
    )
"""


def operator_contact_for_user(*, user: User) -> Operator | None:
    """The operator of the unit of the account's current lease (the company to call), if any."""
    today = timezone.localdate()
    return next(iter(Operator.objects.raw(_OPERATOR_CONTACT_SQL, [user.pk, today, today])), None)


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


def help_feedback_summary() -> list[dict]:
    """Per help topic: how many answered yes, no, and left a comment (for platform staff)."""
    return list(
        HelpFeedback.objects.values("topic")
        .annotate(
            yes=Count("pk", filter=Q(helpful=True)),
            no=Count("pk", filter=Q(helpful=False)),
            comments=Count("pk", filter=~Q(comment="")),
        )
        .order_by("topic")
    )
