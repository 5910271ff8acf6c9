"""Resident sign-in: the account behind a phone number whose SMS code was just verified."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, UserAttribute
from myspacecore.core.masking import mask_phone
from myspacecore.tenancy.models import Lease

logger = logging.getLogger(__name__)

# A number nobody registered on a roster (SPEC "User attributes").
DEFAULT_ATTRIBUTE_CODE = "owner"


class SignInRefused(Exception):
    """The account exists but may not sign in (deactivated by staff)."""


def _roster_leases(phone_number: str):
    """Leases of the number in force or yet to start (`is_in_force` says which), by start."""
    today = timezone.localdate()
    return (
        Lease.objects.filter(phone_number=phone_number)
        .not_ended(today)
        .with_in_force(today)
        .select_related("attribute")
        .order_by("start_date", "pk")
    )


def _lease_in_force_first(leases: list[Lease]) -> Lease | None:
    current = [lease for lease in leases if lease.is_in_force]  # type: ignore[attr-defined]  # with_in_force
    # Among current leases the most recent start wins; otherwise the soonest future one.
    return current[-1] if current else (leases[0] if leases else None)


@transaction.atomic
def resident_sign_in(*, phone_number: str, language: str | None = None) -> User:
    """The resident account of `phone_number` (E.164), created on first sign-in.

    A number on a current or future lease of an operator's roster is linked to it and
    takes the lease's attribute; a number on no roster becomes an `owner`. Staff
    accounts never have a phone number (database constraint), so this never yields one.
    Call only after the number was proved by a verification code.
    """
    leases = list(_roster_leases(phone_number))
    lease = _lease_in_force_first(leases)
    user = User.objects.select_for_update().filter(phone_number=phone_number).first()
    if user is None:
        attribute = lease.attribute if lease else UserAttribute.objects.get(code=DEFAULT_ATTRIBUTE_CODE)
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    phone_number=phone_number, attribute=attribute, **({"language": language} if language else {})
                )
        except (IntegrityError, ValidationError):
            # The same number signed in twice at once: the other request created it.
            user = User.objects.select_for_update().filter(phone_number=phone_number).first()
            if user is None:
                raise
        else:
            logger.info("resident account #%s created for %s", user.pk, mask_phone(phone_number))
    if not user.is_active:
        raise SignInRefused(user.pk)
    if lease is not None and user.attribute_id != lease.attribute_id:
        user.attribute = lease.attribute
        user.save(update_fields=["attribute"])
    if leases:
        Lease.objects.filter(pk__in=[lease.pk for lease in leases]).exclude(resident=user).update(resident=user)
    return user
