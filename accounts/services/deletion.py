"""Deleting MySpaceCore (設定情報の削除, SPEC "Deletion"): one action, one transaction.

What goes at once: the profile (nickname, birth year, gender, e-mail), the account and
its sign-in, every session, the account's verification codes, and what every other room
keeps about it (`myspacecore.core.personal_data`: the smart-home room purges the settings
of the devices the account owns at once, and those of units it lived in through a
`SettingsPurgeRequest` outbox worked off by a Celery task). What stays: the operator's
roster entry (`Lease`: unit, period, attribute), with its link to the account nulled, so
the same number signing in again starts a fresh account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from accounts.models import Profile, User, VerificationCode, VerificationTarget
from accounts.services.sessions import user_sessions_end
from myspacecore.core.personal_data import personal_data_holders
from myspacecore.tenancy.services.invitations import leases_release

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountDeletion:
    """What a deletion did in the other rooms: each holder's record by its key
    (`erased["smart_home"]` is the settings purge request)."""

    user_id: int
    erased: dict[str, object]


@transaction.atomic
def account_delete(*, user: User) -> AccountDeletion | None:
    """Delete the resident account `user` and everything of it, in every room.

    Returns None when the account is already gone (the same deletion confirmed in two
    tabs: the row lock makes the second one find nothing). The caller logs the request
    out; every other session of the account ends here.
    """
    locked = User.objects.select_for_update().filter(pk=user.pk, phone_number__isnull=False).first()
    if locked is None:
        return None
    user = locked  # the locked row from here on
    # Before the row goes: the rooms read what they need of the account (its leases' units).
    erased = {holder.key: holder.erase(user) for holder in personal_data_holders()}
    # The roster entries stay the operator's; a fresh account of the number is asked again.
    leases_release(user=user)

    user_sessions_end(user=user)
    _verification_traces_delete(user=user)
    Profile.objects.filter(user=user).delete()
    user_id = user.pk
    # Cascades: the account's own devices (their settings are already purged), its codes;
    # Lease.resident is SET_NULL (the operator's roster entry stays).
    user.delete()
    done = ", ".join(f"{key}: {record}" for key, record in erased.items())
    logger.info("account #%s deleted (%s)", user_id, done)
    return AccountDeletion(user_id=user_id, erased=erased)


def _verification_traces_delete(*, user: User) -> None:
    """Codes sent to the account's number or address, and their targets' rows.

    A target row that counts failures is kept: it is brute-force protection of the
    number, not profile data, and deleting the account must not reset it.
    """
    targets = [str(user.phone_number)]
    email = Profile.objects.filter(user=user).values_list("email", flat=True).first()
    if email:
        targets += [email, email.lower()]
    VerificationCode.objects.filter(Q(user=user) | Q(target__in=targets)).delete()
    VerificationTarget.objects.filter(target__in=targets, consecutive_failures=0).delete()
