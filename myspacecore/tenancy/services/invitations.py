"""A lease is an invitation to the number it names: the resident accepts it or declines it.

Only an accepted lease links an account and grants anything (its unit's devices, the
operator's sight of the resident). Accepting or declining is the resident's act, signed in
with the number the lease names; the operator sees the answer on the lease.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from myspacecore.tenancy.models import Lease

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def _invitation_for_update(*, user: User, lease_id: int) -> Lease:
    """The pending, not yet ended lease `lease_id` naming the account's number, locked.

    Anything else (another number's lease, one already answered, an ended one) is refused
    with the same message, so an id reveals nothing about leases that are not the account's.
    """
    today = timezone.localdate()
    lease = (
        Lease.objects.select_for_update()
        .filter(pk=lease_id, phone_number=user.phone_number, acceptance=Lease.Acceptance.PENDING)
        .not_ended(today)
        .first()
    )
    if lease is None:
        raise ValidationError(_("この登録はすでに確認済みか、見つかりません。"), code="no_invitation")
    return lease


@transaction.atomic
def lease_accept(*, user: User, lease_id: int) -> Lease:
    """The resident accepts the operator's entry: the lease links the account from now on."""
    lease = _invitation_for_update(user=user, lease_id=lease_id)
    lease.acceptance = Lease.Acceptance.ACCEPTED
    lease.answered_at = timezone.now()
    lease.resident = user
    lease.save(update_fields=["acceptance", "answered_at", "resident"])
    logger.info("lease #%s accepted by account #%s", lease.pk, user.pk)
    return lease


@transaction.atomic
def lease_decline(*, user: User, lease_id: int) -> Lease:
    """The resident says "this is not me": the lease grants nothing; its operator sees it declined."""
    lease = _invitation_for_update(user=user, lease_id=lease_id)
    lease.acceptance = Lease.Acceptance.DECLINED
    lease.answered_at = timezone.now()
    lease.save(update_fields=["acceptance", "answered_at"])
    logger.info("lease #%s declined by account #%s", lease.pk, user.pk)
    return lease


def leases_release(*, user: User) -> int:
    """Before an account is deleted: its leases not yet ended wait for an answer again.

    The roster entry is the operator's and stays; a fresh account of the same number is
    asked again rather than inheriting the deleted account's acceptance. Call inside the
    deletion's transaction. Returns how many leases were released.
    """
    today = timezone.localdate()
    return (
        Lease.objects.filter(resident=user)
        .not_ended(today)
        .update(resident=None, acceptance=Lease.Acceptance.PENDING, answered_at=None)
    )
