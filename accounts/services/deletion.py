"""Deleting MySpaceCore (設定情報の削除, SPEC "Deletion"): one action, one transaction.

What goes at once: the profile (nickname, birth year, gender, e-mail), the account and
its sign-in, every session, the account's verification codes, and the settings of the
devices it owns. What goes later: the settings of units it lived in, through a
`smarthome.SettingsPurgeRequest` (outbox) worked off by a Celery task. What stays: the
operator's roster entry (`Lease`: unit, period, attribute), with its link to the
account nulled, so the same number signing in again starts a fresh account.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Lease, Profile, User, VerificationCode, VerificationTarget
from accounts.services.sessions import user_sessions_end
from smarthome.models import SettingsPurgeRequest
from smarthome.services import settings_purge_request_create

logger = logging.getLogger(__name__)


@transaction.atomic
def account_delete(*, user: User) -> SettingsPurgeRequest | None:
    """Delete the resident account `user` and everything of it; returns the purge request.

    Returns None when the account is already gone (the same deletion confirmed in two
    tabs: the row lock makes the second one find nothing). The caller logs the request
    out; every other session of the account ends here.
    """
    user = User.objects.select_for_update().filter(pk=user.pk, phone_number__isnull=False).first()
    if user is None:
        return None
    # Captured before the row goes: deleting the account nulls Lease.resident.
    started_leases = Lease.objects.filter(resident=user, start_date__lte=timezone.localdate())
    unit_ids = list(started_leases.values_list("unit_id", flat=True).distinct())
    purge_request = settings_purge_request_create(user=user, unit_ids=unit_ids)

    user_sessions_end(user=user)
    _verification_traces_delete(user=user)
    Profile.objects.filter(user=user).delete()
    user_id = user.pk
    # Cascades: the account's own devices (their settings are already purged), its codes;
    # Lease.resident is SET_NULL (the operator's roster entry stays).
    user.delete()
    logger.info("account #%s deleted; settings purge request #%s", user_id, purge_request.pk)
    return purge_request


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
