"""Resident sign-in: the account behind a phone number whose SMS code was just verified."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.last_login import last_login_recorded
from accounts.models import User, UserAttribute
from accounts.services.attributes import DEFAULT_ATTRIBUTE_CODE, user_attribute_derived_sql, user_attribute_store
from myspacecore.core.masking import mask_phone
from myspacecore.tenancy.sql import (
    column,
    column_name,
    lease_invitations_exist_sql,
    model_from_row,
    select_list,
    table,
)

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
    whether an operator's entry waits for this number's answer (read with the account),
    and its sign-in time (`last_login`) already written, with the same statement as the
    account's read or in its INSERT: login() then leaves it as it is (accounts.last_login).
    """
    with transaction.atomic(savepoint=False):
        user = _resident_signing_in(phone_number)
        if user is None:
            return _resident_create(phone_number=phone_number, language=language)
        if user.is_active:
            user_attribute_store(user=user, attribute_id=user.derived_attribute_id)  # type: ignore[attr-defined]
            return user
    # Raised once the block is left: the transaction around it (the code just used) commits.
    raise SignInRefused(user.pk)


def _resident_signing_in_sql(phone_number: str, on: datetime.date, now: datetime.datetime) -> tuple[str, list[Any]]:
    """The account of the number, its sign-in time written when it is active, then
    `invitations_pending` and `derived_attribute_id`: one plain `UPDATE … RETURNING`, which
    also locks the row until the transaction ends (PostgreSQL: as the sign-in's SELECT …
    FOR UPDATE did; SQLite locks the whole database on write). Through the ORM
    (select_for_update, an Exists annotation, user_attribute_derived's query, then login()'s
    last_login save) building the statements cost more CPU than running them
    (bench/README.md); the rules come from their SQL twins (lease_invitations_exist_sql,
    user_attribute_derived_sql), which tests hold to the ORM's. Columns are qualified by the
    table's own name: SQLite's RETURNING knows no alias."""
    account = table(User)
    last_login, is_active = column_name(User, "last_login"), column_name(User, "is_active")
    invitations, invitations_params = lease_invitations_exist_sql(phone_number, on)
    derived, derived_params = user_attribute_derived_sql(column(account, User, "id"), on)
    sql = (
        f"UPDATE {account} SET {last_login} = CASE WHEN {is_active} THEN %s ELSE {last_login} END "  # noqa: S608
        f"WHERE {column(account, User, 'phone_number')} = %s "
        f"RETURNING {select_list(account, User)}, {invitations}, {derived}"
    )
    return sql, [connection.ops.adapt_datetimefield_value(now), phone_number, *invitations_params, *derived_params]


def _resident_signing_in(phone_number: str) -> User | None:
    """The account of the number, locked, its sign-in time recorded when it is active
    (`last_login_recorded`: login() then writes it no more), carrying `invitations_pending`
    (bool) and `derived_attribute_id` (what user_attribute_derived gives it today), in one
    statement."""
    now = timezone.now()
    sql, params = _resident_signing_in_sql(phone_number, timezone.localdate(now), now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    user = model_from_row(User, row)
    if user.is_active:
        last_login_recorded(user)
    user.invitations_pending = bool(row[-2])  # type: ignore[attr-defined]  # SQLite: 0 / 1
    user.derived_attribute_id = row[-1]  # type: ignore[attr-defined]
    return user


def _resident_create(*, phone_number: str, language: str | None) -> User:
    attribute, invitations_pending = _default_attribute_and_invitations(phone_number)
    user = User(
        phone_number=phone_number,
        attribute=attribute,
        last_login=timezone.now(),
        **({"language": language} if language else {}),
    )
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
        existing = _resident_signing_in(phone_number)
        if existing is None:
            raise
        return existing
    logger.info("resident account #%s created for %s", user.pk, mask_phone(phone_number))
    last_login_recorded(user)  # written by the INSERT
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
