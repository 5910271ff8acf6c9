"""What every bulk cleanup shares: its progress protocol, its result and its run-wide lock.

Every bulk cleanup (expired codes in `accounts.services.cleanup`; move-out resets and purge
requests in `smarthome.services`) works in keyset batches by primary key (`pk > last` keeps
each batch an index range scan, never a walk over the dead rows of earlier batches), one
transaction per batch, and holds only one batch of primary keys in memory. An interrupted
run loses at most its current batch (rolled back) and is simply run again.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeGuard

from django.db import connection


class CleanupProgress(Protocol):
    """What a cleanup tells its caller while it runs (the commands draw a progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


def progress_wants_total(progress: CleanupProgress | None) -> TypeGuard[CleanupProgress]:
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
