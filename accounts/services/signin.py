"""Resident sign-in: the account behind a phone number whose SMS code was just verified."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Exists

from accounts.models import User, UserAttribute
from accounts.services.attributes import DEFAULT_ATTRIBUTE_CODE, user_attribute_sync
from myspacecore.core.masking import mask_phone
from myspacecore.tenancy.selectors import lease_invitations

logger = logging.getLogger(__name__)


class SignInRefused(Exception):
    """The account exists but may not sign in (deactivated by staff)."""


def resident_sign_in(*, phone_number: str, language: str | None = None) -> User:
    """The resident account of `phone_number` (E.164), created on first sign-in.

    A sign-in never links a roster entry: an operator's lease naming the number waits for
    the resident to accept it (`accounts.services.invitations`). The account's attribute is
    derived from the leases it accepted (`user_attribute_sync`: they may have started or
    ended since the last sign-in); a new account is an `owner`. Staff accounts never have a
    phone number (database constraint), so this never yields one. Call only after the
    number was proved by a verification code; inside the code's transaction (the sign-in
    flow) it adds no savepoint of its own. The user returned carries `invitations_pending`:
    whether an operator's entry waits for this number's answer (read with the account).
    """
    with transaction.atomic(savepoint=False):
        user = _resident_for_update(phone_number)
        if user is None:
            return _resident_create(phone_number=phone_number, language=language)
        if user.is_active:
            user_attribute_sync(user=user)
            return user
    # Raised once the block is left: the transaction around it (the code just used) commits.
    raise SignInRefused(user.pk)


def _resident_for_update(phone_number: str) -> User | None:
    """The account of the number, locked, with `invitations_pending` read in the same query."""
    pending = lease_invitations(phone_number=phone_number)
    return (
        User.objects.select_for_update(of=("self",))
        .filter(phone_number=phone_number)
        .annotate(invitations_pending=Exists(pending))
        .first()
    )


def _resident_create(*, phone_number: str, language: str | None) -> User:
    attribute = UserAttribute.objects.get(code=DEFAULT_ATTRIBUTE_CODE)
    user = User(phone_number=phone_number, attribute=attribute, **({"language": language} if language else {}))
    user.set_unusable_password()
    # The fields are checked here, in Python. Not repeated before the INSERT: the attribute
    # (just read), the number's uniqueness and the two check constraints (a phone number is
    # set, is_staff and is_superuser are False), which the database holds anyway; a
    # violation is the IntegrityError below.
    user.full_clean(exclude=["password", "attribute"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        # The same number signed in twice at once: the other request created it.
        existing = _resident_for_update(phone_number)
        if existing is None:
            raise
        return existing
    logger.info("resident account #%s created for %s", user.pk, mask_phone(phone_number))
    user.invitations_pending = lease_invitations(phone_number=phone_number).exists()  # type: ignore[attr-defined]
    return user
