"""Ctrl+C in a cleanup command (myspacecore.core.cleanup_command) stops the run at its next SQL
statement, never inside one, so the batch in progress is rolled back cleanly."""

from __future__ import annotations

import os
import signal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from myspacecore.core.cleanup import CleanupResult
from myspacecore.core.cleanup_command import EXIT_INTERRUPTED, CleanupCommand

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def statement(sql: str = "SELECT 1") -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


class Probe(CleanupCommand):
    """A cleanup that signals itself where its steps say."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps
        self.done: list[str] = []

    def run(self, *, batch_size, dry_run, progress) -> CleanupResult:
        for step in self.steps:
            step(self)
        return CleanupResult(processed=1, batches=1)


def sigint(probe: Probe) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    probe.done.append("went on after the signal")  # no statement yet: nothing stops it here


def batch(probe: Probe) -> None:
    with transaction.atomic():
        statement()
        probe.done.append("batch")


def test_a_sigint_stops_the_run_at_its_next_statement_and_exits_130():
    before = signal.getsignal(signal.SIGINT)
    probe = Probe([batch, sigint, batch, batch])

    with pytest.raises(CommandError) as stopped:
        call_command(probe)

    assert stopped.value.returncode == EXIT_INTERRUPTED
    assert probe.done == ["batch", "went on after the signal"]  # the second batch's statement never ran
    assert signal.getsignal(signal.SIGINT) is before
    statement()  # the connection is usable: the interrupted batch was rolled back cleanly


def test_the_statements_after_the_interrupt_run_and_a_second_sigint_stops_at_once():
    def rollback_then_more(probe: Probe) -> None:
        try:
            batch(probe)
        except KeyboardInterrupt:
            statement()  # e.g. a lock's release: not interrupted again
            probe.done.append("released")
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl+C: raised where it lands
            probe.done.append("never")

    probe = Probe([sigint, rollback_then_more])

    with pytest.raises(CommandError) as stopped:
        call_command(probe)

    assert stopped.value.returncode == EXIT_INTERRUPTED
    assert probe.done == ["went on after the signal", "released"]


def test_a_run_without_a_signal_ends_as_before(capsys):
    call_command(Probe([batch, batch]))

    assert "1 rows processed in 1 batches, 0 failed" in capsys.readouterr().out
