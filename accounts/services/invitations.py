"""The resident's answer to an operator's roster entry (an invitation), with its effect on the account."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.services.attributes import user_attribute_sync
from myspacecore.tenancy.models import Lease
from myspacecore.tenancy.services.invitations import lease_accept, lease_decline


@transaction.atomic
def lease_invitation_answer(*, user: User, lease_id: int, accept: bool) -> Lease:
    """Accept (the lease links the account and its attribute applies) or decline an entry.

    Raises ValidationError when the lease is not a pending entry naming the account's number.
    """
    if accept:
        lease = lease_accept(user=user, lease_id=lease_id)
        user_attribute_sync(user=user)
        return lease
    return lease_decline(user=user, lease_id=lease_id)
