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
from django.db.models import Max, Min, Q, QuerySet
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
        # The codes there are now (a code created during the run is still valid: the next run's).
        bounds = VerificationCode.objects.aggregate(low=Min("pk"), high=Max("pk"))
        last_pk, highest = (bounds["low"] - 1, bounds["high"]) if bounds["low"] is not None else (0, 0)
        while last_pk < highest:
            with transaction.atomic():
                deleted, last_pk = _codes_delete(
                    deletable=deletable, after=last_pk, last=highest, batch_size=batch_size
                )
            if deleted:
                result.processed += deleted
                result.batches += 1
                if progress is not None:
                    progress.advance(deleted)
    logger.info("verification codes cleanup: %s deleted in %s batches", result.processed, result.batches)
    return result


def _codes_delete(*, deletable: QuerySet, after: int, last: int, batch_size: int) -> tuple[int, int]:
    """Delete the deletable codes with a pk in the next `batch_size` pks above `after`.

    Returns (how many were deleted, the pk the next batch starts above). Nothing references
    a code, so nothing is fetched: one DELETE of the pk range. Codes are numbered in the order
    they are made and the old ones go, so the range is nearly full: reading where the next
    `batch_size` codes end first (the pk index, up to the batch's end) cost a fifth of the run
    (bench/README.md, cleanup.py). A range that deleted nothing is followed by a look for
    the next code there is, so a table with gaps in its pks skips them at once.
    """
    upper = min(after + batch_size, last)
    deleted, _detail = deletable.filter(pk__gt=after, pk__lte=upper).delete()
    if not deleted and upper < last:
        following = VerificationCode.objects.filter(pk__gt=upper).aggregate(first=Min("pk"))["first"]
        upper = last if following is None else following - 1  # the next code's pk is above `upper`
    return deleted, upper
