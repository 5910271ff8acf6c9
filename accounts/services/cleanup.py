"""Bulk cleanup of verification codes (SPEC "Bulk cleanup"), and what every cleanup reports.

Every bulk cleanup (codes here; move-out resets and purge requests in `smarthome.services`)
works the same way: keyset batches by primary key (`pk > last` keeps each batch an index
range scan, never a walk over the dead rows of earlier batches), one transaction per
batch, rows locked with `SKIP LOCKED` on PostgreSQL so two runs at once share the work
instead of waiting or doing it twice, and only primary keys of one batch in memory.
An interrupted run loses at most its current batch (rolled back) and is simply run again.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import VerificationCode

logger = logging.getLogger(__name__)

CODES_BATCH_SIZE = 1000


class CleanupProgress(Protocol):
    """What a cleanup tells its caller while it runs (the commands draw a progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


@dataclass
class CleanupResult:
    """What a cleanup did, or in a dry run would do (`processed` is then the count of candidates)."""

    processed: int = 0
    failed: int = 0
    batches: int = 0
    dry_run: bool = False


def verification_codes_deletable(*, now: datetime.datetime | None = None):
    """Codes nobody can use any more: expired, or settled (used, burned, superseded, cancelled).

    A settled code is never read again: verifying it answers "used" whether the row is
    there or not, and its delivery task skips it either way.
    """
    now = now or timezone.now()
    return VerificationCode.objects.filter(Q(expires_at__lt=now) | ~Q(state=VerificationCode.State.PENDING))


def verification_codes_cleanup(
    *,
    batch_size: int = CODES_BATCH_SIZE,
    dry_run: bool = False,
    progress: CleanupProgress | None = None,
    now: datetime.datetime | None = None,
) -> CleanupResult:
    """Delete expired and settled verification codes in batches; constant memory at any size.

    `dry_run` only counts. Never touches a pending code that is still valid, nor the
    per-target failure counts (`VerificationTarget`), which must outlive their codes.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    deletable = verification_codes_deletable(now=now)
    result = CleanupResult(dry_run=dry_run)
    if dry_run:
        result.processed = deletable.count()
        return result
    if progress is not None:
        progress.start(deletable.count())
    last_pk = 0
    while True:
        with transaction.atomic():
            pks = list(
                deletable.filter(pk__gt=last_pk)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                break
            deleted = _codes_delete(pks)
        last_pk = pks[-1]
        result.processed += deleted
        result.batches += 1
        if progress is not None:
            progress.advance(deleted)
    logger.info("verification codes cleanup: %s deleted in %s batches", result.processed, result.batches)
    return result


def _codes_delete(pks: list[int]) -> int:
    # Nothing references a code, so this is one `DELETE … WHERE id IN (…)`, no fetch.
    deleted, _detail = VerificationCode.objects.filter(pk__in=pks).delete()
    return deleted
