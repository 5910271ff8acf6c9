"""Resident sign-in: the account behind a phone number whose SMS code was just verified."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User, UserAttribute
from accounts.services.attributes import DEFAULT_ATTRIBUTE_CODE, user_attribute_sync
from myspacecore.core.masking import mask_phone

logger = logging.getLogger(__name__)

class SignInRefused(Exception):
    """The account exists but may not sign in (deactivated by staff)."""


@transaction.atomic
def resident_sign_in(*, phone_number: str, language: str | None = None) -> User:
    """The resident account of `phone_number` (E.164), created on first sign-in.

    A sign-in never links a roster entry: an operator's lease naming the number waits for
    the resident to accept it (`accounts.services.invitations`). The account's attribute is
    derived from the leases it accepted (`user_attribute_sync`: they may have started or
    ended since the last sign-in); a new account is an `owner`. Staff accounts never have a
    phone number (database constraint), so this never yields one. Call only after the
    number was proved by a verification code.
    """
    user = User.objects.select_for_update().filter(phone_number=phone_number).first()
    if user is None:
        attribute = UserAttribute.objects.get(code=DEFAULT_ATTRIBUTE_CODE)
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
            return user
    if not user.is_active:
        raise SignInRefused(user.pk)
    user_attribute_sync(user=user)
    return user
