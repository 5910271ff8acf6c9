"""Resident sign-in: the account behind a phone number whose SMS code was just verified."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User, UserAttribute
from accounts.services.attributes import DEFAULT_ATTRIBUTE_CODE, user_attribute_derived_sql, user_attribute_store
from myspacecore.core.masking import mask_phone
from myspacecore.tenancy.sql import column, lease_invitations_exist_sql, model_from_row, select_list, table

logger = logging.getLogger(__name__)


class SignInRefused(Exception):
    """The account exists but may not sign in (deactivated by staff)."""


def resident_sign_in(*, phone_number: str, language: str | None = None) -> User:
    """The resident account of `phone_number` (E.164), created on first sign-in.

    A sign-in never links a roster entry: an operator's lease naming the number waits for
    the resident to accept it (`accounts.services.invitations`). The account's attribute is
    derived from the leases it accepted (`user_attribute_derived`, read with the account,
    then stored when it differs: they may have started or ended since the last sign-in); a
    new account is an `owner`. Staff accounts never have a
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
            user_attribute_store(user=user, attribute_id=user.derived_attribute_id)  # type: ignore[attr-defined]
            return user
    # Raised once the block is left: the transaction around it (the code just used) commits.
    raise SignInRefused(user.pk)


def _resident_for_update_sql(phone_number: str, on: datetime.date) -> tuple[str, list[Any]]:
    """The account of the number, locked, then `invitations_pending` and `derived_attribute_id`:
    one plain statement. Through the ORM (select_for_update, an Exists annotation, then
    user_attribute_derived's query) building the two queries cost more CPU than running them
    (bench/README.md); the rules come from their SQL twins (lease_invitations_exist_sql,
    user_attribute_derived_sql), which tests hold to the ORM's."""
    user_id, user_phone = column("account", User, "id"), column("account", User, "phone_number")
    invitations, invitations_params = lease_invitations_exist_sql(phone_number, on)
    derived, derived_params = user_attribute_derived_sql(user_id, on)
    # FOR UPDATE OF where the database has it (PostgreSQL); SQLite locks the whole database on write.
    lock = " FOR UPDATE OF account" if connection.features.has_select_for_update_of else ""
    sql = (
        f"SELECT {select_list('account', User)}, {invitations}, {derived} "  # noqa: S608 - names from _meta
        f"FROM {table(User)} account WHERE {user_phone} = %s{lock}"
    )
    return sql, [*invitations_params, *derived_params, phone_number]


def _resident_for_update(phone_number: str) -> User | None:
    """The account of the number, locked, carrying `invitations_pending` (bool) and
    `derived_attribute_id` (what user_attribute_derived gives it today), read in one statement."""
    sql, params = _resident_for_update_sql(phone_number, timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    user = model_from_row(User, row)
    user.invitations_pending = bool(row[-2])  # type: ignore[attr-defined]  # SQLite: 0 / 1
    user.derived_attribute_id = row[-1]  # type: ignore[attr-defined]
    return user


def _resident_create(*, phone_number: str, language: str | None) -> User:
    attribute, invitations_pending = _default_attribute_and_invitations(phone_number)
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
    user.invitations_pending = invitations_pending  # type: ignore[attr-defined]
    return user


def _default_attribute_and_invitations(phone_number: str) -> tuple[UserAttribute, bool]:
    """A new account's attribute (`owner`) and whether an operator's entry waits for the number
    (lease_invitations_exist's SQL twin): one plain statement. DoesNotExist without the seed row."""
    invitations, params = lease_invitations_exist_sql(phone_number, timezone.localdate())
    sql = (
        f"SELECT {select_list('a', UserAttribute)}, {invitations} FROM {table(UserAttribute)} a "  # noqa: S608
        f"WHERE {column('a', UserAttribute, 'code')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, DEFAULT_ATTRIBUTE_CODE])
        row = cursor.fetchone()
    if row is None:
        raise UserAttribute.DoesNotExist(DEFAULT_ATTRIBUTE_CODE)
    return model_from_row(UserAttribute, row), bool(row[-1])
