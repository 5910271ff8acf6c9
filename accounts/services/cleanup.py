"""Bulk cleanup of verification codes (SPEC "Bulk cleanup"), and what every cleanup reports.

Every bulk cleanup (codes here; move-out resets and purge requests in `smarthome.services`)
works in keyset batches by primary key (`pk > last` keeps each batch an index range scan,
never a walk over the dead rows of earlier batches), one transaction per batch, and holds
only one batch of primary keys in memory. An interrupted run loses at most its current
batch (rolled back) and is simply run again.

Two runs at once never do the same work twice. The move-out and purge sweeps lock their
batch with `SKIP LOCKED` so a second run takes the next rows. The codes cleanup instead
deletes plain pk ranges (no row is read or locked first: 4-5x faster than locking each row,
bench/cleanup.py) and so holds a run-wide advisory lock: a second run stops at once.
"""

from __future__ import annotations

import datetime
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import VerificationCode

logger = logging.getLogger(__name__)

# Large batches: no row of a batch is held in Python (memory stays flat) and each batch's
# statements and commit are a fixed cost (50,000: 1.25x faster than 20,000 on 1,000,000 rows).
CODES_BATCH_SIZE = 50_000
CODES_LOCK = "accounts.verification_codes_cleanup"


class CleanupProgress(Protocol):
    """What a cleanup tells its caller while it runs (the commands draw a progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


def progress_wants_total(progress: CleanupProgress | None) -> bool:
    """Whether `progress.start` needs a COUNT (a progress that draws nothing sets `wants_total = False`)."""
    return progress is not None and getattr(progress, "wants_total", True)


@dataclass
class CleanupResult:
    """What a cleanup did, or in a dry run would do (`processed` is then the count of candidates)."""

    processed: int = 0
    failed: int = 0
    batches: int = 0
    dry_run: bool = False
    # Another run of the same cleanup held its lock: this one did nothing.
    busy: bool = False


@contextmanager
def cleanup_lock(name: str) -> Iterator[bool]:
    """Hold the PostgreSQL advisory lock `name` for a whole run; yields whether it was free.

    Session-level, so it spans the run's batch transactions; a run that dies (even SIGKILL)
    drops its connection and with it the lock. Call outside any transaction. Elsewhere
    (SQLite: one writer at a time) it always yields True.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = zlib.crc32(name.encode())  # the same key in every process, unlike hash()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


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
