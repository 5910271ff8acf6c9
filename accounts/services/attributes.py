"""Which user attribute an account has: derived from the leases it accepted, never set by a roster entry.

The rule (README, "Tenancy"): among the account's accepted leases in force, the attribute
of highest `precedence` (the most restrictive: managed, then rental_resident); with none,
`owner`. One operator's entry therefore changes nothing until the resident accepts it, and
never takes away what another operator's accepted lease granted without the resident's
own acceptance of the new one.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction

from accounts.models import User, UserAttribute
from myspacecore.tenancy.models import Lease
from myspacecore.tenancy.sql import column, lease_granting_sql, table

logger = logging.getLogger(__name__)

# A number with no accepted lease in force (SPEC "User attributes").
DEFAULT_ATTRIBUTE_CODE = "owner"


def user_attribute_derived(*, user: User) -> UserAttribute:
    """The attribute `user`'s accepted leases in force give it today (one query)."""
    granting = Lease.objects.granting().filter(resident=user).values("attribute_id")
    attribute = UserAttribute.objects.filter(pk__in=granting).order_by("-precedence", "pk").first()
    return attribute or UserAttribute.objects.get(code=DEFAULT_ATTRIBUTE_CODE)


def user_attribute_derived_sql(user_id_sql: str, on: datetime.date) -> tuple[str, list[object]]:
    """`user_attribute_derived(user=…).pk` on day `on` as an SQL scalar, for the account whose id is
    `user_id_sql` (a quoted column of the caller's query), with its parameters in order.

    The twin of `user_attribute_derived` for the sign-in's one-statement read: change the two
    together (tests/accounts/test_attribute_rules.py fails when they disagree).
    """
    granting, params = lease_granting_sql("granting", on)
    attr = table(UserAttribute)
    attr_id, precedence = column("attr", UserAttribute, "id"), column("attr", UserAttribute, "precedence")
    sql = (
        f"COALESCE((SELECT {attr_id} FROM {table(Lease)} granting "  # noqa: S608 - names from _meta
        f"JOIN {attr} attr ON {attr_id} = {column('granting', Lease, 'attribute')} "
        f"WHERE {column('granting', Lease, 'resident')} = {user_id_sql} AND {granting} "
        f"ORDER BY {precedence} DESC, {attr_id} LIMIT 1), "
        f"(SELECT {column('owner', UserAttribute, 'id')} FROM {attr} owner "
        f"WHERE {column('owner', UserAttribute, 'code')} = %s))"
    )
    return sql, [*params, DEFAULT_ATTRIBUTE_CODE]


# No savepoint of its own: nothing here is caught and retried, and inside the sign-in's
# transaction a savepoint would cost two statements.
@transaction.atomic(savepoint=False)
def user_attribute_sync(*, user: User) -> UserAttribute:
    """Store the derived attribute on the account when it differs (sign-in, an accepted lease)."""
    attribute = user_attribute_derived(user=user)
    user_attribute_store(user=user, attribute_id=attribute.pk)
    return attribute


def user_attribute_store(*, user: User, attribute_id: int) -> None:
    """Store `attribute_id`, the account's derived attribute (`user_attribute_derived` or its SQL
    twin, read by the caller), on the account when it differs. Call inside a transaction."""
    if user.attribute_id != attribute_id:
        logger.info("account #%s attribute #%s -> #%s", user.pk, user.attribute_id, attribute_id)
        user.attribute_id = attribute_id
        user.save(update_fields=["attribute"])
