"""Which user attribute an account has: derived from the leases it accepted, never set by a roster entry.

The rule (README, "Tenancy"): among the account's accepted leases in force, the attribute
of highest `precedence` (the most restrictive: managed, then rental_resident); with none,
`owner`. One operator's entry therefore changes nothing until the resident accepts it, and
never takes away what another operator's accepted lease granted without the resident's
own acceptance of the new one.
"""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import User, UserAttribute
from myspacecore.tenancy.models import Lease

logger = logging.getLogger(__name__)

# A number with no accepted lease in force (SPEC "User attributes").
DEFAULT_ATTRIBUTE_CODE = "owner"


def user_attribute_derived(*, user: User) -> UserAttribute:
    """The attribute `user`'s accepted leases in force give it today (one query)."""
    granting = Lease.objects.granting().filter(resident=user).values("attribute_id")
    attribute = UserAttribute.objects.filter(pk__in=granting).order_by("-precedence", "pk").first()
    return attribute or UserAttribute.objects.get(code=DEFAULT_ATTRIBUTE_CODE)


# No savepoint of its own: nothing here is caught and retried, and inside the sign-in's
# transaction a savepoint would cost two statements.
@transaction.atomic(savepoint=False)
def user_attribute_sync(*, user: User) -> UserAttribute:
    """Store the derived attribute on the account when it differs (sign-in, an accepted lease)."""
    attribute = user_attribute_derived(user=user)
    if user.attribute_id != attribute.pk:
        logger.info("account #%s attribute %s -> %s", user.pk, user.attribute_id, attribute.code)
        user.attribute = attribute
        user.save(update_fields=["attribute"])
    return attribute
