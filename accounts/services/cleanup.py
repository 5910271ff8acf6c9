"""Bulk cleanup of verification codes (SPEC "Bulk cleanup"), in the batches every cleanup
uses (`myspacecore.core.cleanup`).

Two runs at once never do the same work twice. The move-out and purge sweeps lock their
batch with `SKIP LOCKED` so a second run takes the next rows. The codes cleanup instead
deletes plain pk ranges (no row is read or locked first: much faster than locking each row,
bench/README.md) and so holds a run-wide advisory lock: a second run stops at once.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import VerificationCode
from myspacecore.core.cleanup import CleanupProgress, CleanupResult, cleanup_lock, progress_wants_total

logger = logging.getLogger(__name__)

# Large batches: no row of a batch is held in Python (memory stays flat) and each batch's
# statements and commit are a fixed cost, so fewer batches are faster (bench/README.md).
CODES_BATCH_SIZE = 50_000
CODES_LOCK = "accounts.verification_codes_cleanup"


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
    While another run holds `CODES_LOCK` it returns at once with `busy` set.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    deletable = verification_codes_deletable(now=now)
    result = CleanupResult(dry_run=dry_run)
    if dry_run:
        result.processed = deletable.count()
        return result
    with cleanup_lock(CODES_LOCK) as acquired:
        if not acquired:
            result.busy = True
            logger.info("verification codes cleanup: another run holds the lock, nothing done")
            return result
        if progress_wants_total(progress):
            progress.start(deletable.count())
        last_pk: int | None = 0
        while last_pk is not None:
            with transaction.atomic():
                deleted, last_pk = _codes_delete(deletable=deletable, after=last_pk, batch_size=batch_size)
            if deleted:
                result.processed += deleted
                result.batches += 1
                if progress is not None:
                    progress.advance(deleted)
    logger.info("verification codes cleanup: %s deleted in %s batches", result.processed, result.batches)
    return result


def _codes_delete(*, deletable: QuerySet, after: int, batch_size: int) -> tuple[int, int | None]:
    """Delete the deletable codes among the next `batch_size` codes above pk `after`.

    Returns (how many were deleted, the range's highest pk, or None when the range reached
    the end of the table). Nothing references a code, so nothing is fetched: the range's
    end is read from the pk index (index-only scan), then one DELETE of the pk range.
    """
    upper = list(
        VerificationCode.objects.filter(pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)[batch_size - 1 : batch_size]
    )
    span = deletable.filter(pk__gt=after)
    if upper:
        span = span.filter(pk__lte=upper[0])
    deleted, _detail = span.delete()
    return deleted, upper[0] if upper else None
