"""What the `cleanup_*` commands share: options, progress output, summary line, exit status.

Each command only names its service; the work (batches, transactions, locks) is the
service's. On a terminal a progress bar is drawn on stderr; otherwise (cron, CI) only the
one summary line is printed, so logs stay readable.

The commands skip Django's system checks: they look at the URLconf (importing every view),
templates, admin and security settings, none of which a cleanup uses, and are a large part
of its start-up (bench/README.md, cleanup). A release is checked at deploy (`check --deploy`),
the beat tasks run the same services without checks, and a broken view must not stop expired
codes going.

Ctrl+C (SIGINT) stops a run at its next SQL statement, never inside one: a KeyboardInterrupt
raised while psycopg waits on PostgreSQL (a COMMIT in flight) leaves the connection busy, and
the transaction's clean-up then fails with a traceback of its own instead of rolling back. A
second Ctrl+C stops at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from myspacecore.core.cleanup import CleanupResult

BAR_WIDTH = 30
# Exit status of a run stopped with Ctrl+C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


class TerminalProgress:
    """A one-line progress bar, redrawn after every committed batch."""

    def __init__(self, stream, label: str) -> None:
        self.stream = stream
        self.label = label
        self.total = 0
        self.done = 0

    def start(self, total: int) -> None:
        self.total = total
        self._draw()

    def advance(self, done: int) -> None:
        self.done += done
        self._draw()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        shown = min(self.done, self.total)
        filled = BAR_WIDTH * shown // self.total if self.total else BAR_WIDTH
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {shown}/{self.total}")
        self.stream.flush()


class CountingProgress:
    """No output: only counts, so an interrupted run can still say what it did."""

    # No bar to scale: the cleanups skip the COUNT of their candidates.
    wants_total = False

    def __init__(self) -> None:
        self.done = 0

    def start(self, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        self.done += done

    def finish(self) -> None:
        pass


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


@contextmanager
def interrupted_between_statements() -> Iterator[None]:
    """Inside the block, SIGINT raises KeyboardInterrupt before the next SQL statement of the
    default database (once; the statements after it, the rollback's and the lock's release,
    run), not where the signal landed. Outside the main thread (no signal handler there) it
    changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    requested: list[bool] = []

    def on_sigint(signum, frame) -> None:
        requested.append(True)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl+C: at once

    def before_statement(execute, sql, params, many, context):
        if requested:
            requested.clear()
            raise KeyboardInterrupt
        return execute(sql, params, many, context)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with connection.execute_wrapper(before_statement):
            yield
    finally:
        signal.signal(signal.SIGINT, previous)


class CleanupCommand(BaseCommand):
    """Subclasses set `noun` and `default_batch_size` and implement `run()`."""

    noun = "rows"
    default_batch_size = 1000
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be done; change nothing.")
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=self.default_batch_size,
            help=f"Rows per batch, one transaction each (default {self.default_batch_size}).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar even on a terminal (summary line only)."
        )

    def run(self, *, batch_size: int, dry_run: bool, progress) -> CleanupResult:
        raise NotImplementedError

    def handle(self, *args, dry_run: bool, batch_size: int, no_progress: bool, **options) -> None:
        on_terminal = not no_progress and not dry_run and sys.stderr.isatty()
        progress = TerminalProgress(sys.stderr, self.noun) if on_terminal else CountingProgress()
        try:
            with interrupted_between_statements():
                result = self.run(batch_size=batch_size, dry_run=dry_run, progress=progress)
        except KeyboardInterrupt:
            progress.finish()
            self.stdout.write(
                f"{self.name}: interrupted after {progress.done} {self.noun}; "
                "the unfinished batch was rolled back, run again to continue"
            )
            raise CommandError("interrupted", returncode=EXIT_INTERRUPTED) from None
        progress.finish()
        if result.busy:
            # Not an error: cron started this run while a long one was still going.
            self.stdout.write(f"{self.name}: another run is in progress; nothing done")
            return
        if result.dry_run:
            self.stdout.write(f"{self.name}: dry run, {result.processed} {self.noun} would be processed")
            return
        self.stdout.write(
            f"{self.name}: {result.processed} {self.noun} processed in {result.batches} batches, {result.failed} failed"
        )
        if result.failed:
            raise CommandError(f"{result.failed} {self.noun} failed (see the log); run again to retry", returncode=1)

    @property
    def name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]
