"""The `cleanup_*` commands on PostgreSQL: dry run, Ctrl+C and SIGKILL half-way, re-run, two runs at once.

The commands run as real `manage.py` processes on the test database, as cron would run them.
"""

from __future__ import annotations

import datetime
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import VerificationCode
from accounts.services.cleanup import CODES_LOCK
from myspacecore.core.cleanup import cleanup_lock
from myspacecore.tenancy.models import Unit
from smarthome.models import RemoteControlSetting, SettingsPurgeRequest
from tests.factories import LeaseFactory, UnitFactory
from tests.smarthome.factories import RemoteControlSettingFactory, UnitDeviceFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime.timedelta(days=1)
SUMMARY = re.compile(r": (\d+) \w+ processed in (\d+) batches, (\d+) failed")
BUSY = "cleanup_verification_codes: another run is in progress; nothing done\n"


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def command(*args: str) -> subprocess.Popen:
    """`manage.py <args>` in its own process, on the test database, without a terminal."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test",
        "DATABASE_URL": database_url(),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell's background job starts with SIGINT ignored, and Python then keeps it
        # ignored: the Ctrl+C test needs the command to receive it, as from a terminal.
        preexec_fn=_sigint_default,
    )


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finished(process: subprocess.Popen) -> tuple[int, str]:
    out, err = process.communicate(timeout=300)
    assert "Traceback" not in err, err
    return process.returncode, out


def processed(out: str) -> int:
    match = SUMMARY.search(out)
    assert match, out
    return int(match.group(1))


def expired_codes(count: int) -> None:
    """Insert `count` expired codes in one statement (INSERT … SELECT generate_series)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_verificationcode
                (purpose, channel, target, code_hash, language, state, delivery, delivery_attempts,
                 created_at, expires_at)
            SELECT 'sign_in', 'sms', '+8190' || lpad(n::text, 8, '0'), repeat('0', 64), 'ja', 'pending', 'sent', 1,
                   now() - interval '1 hour', now() - interval '55 minutes'
            FROM generate_series(1, %s) AS n
            """,
            [count],
        )


def codes_left() -> int:
    return VerificationCode.objects.count()


def test_codes_dry_run_counts_and_changes_nothing():
    expired_codes(1234)
    returncode, out = finished(command("cleanup_verification_codes", "--dry-run"))
    assert returncode == 0
    assert out == "cleanup_verification_codes: dry run, 1234 codes would be processed\n"
    assert codes_left() == 1234


def test_a_codes_cleanup_started_while_another_runs_stops_at_once_and_deletes_nothing():
    expired_codes(5000)
    with cleanup_lock(CODES_LOCK) as acquired:  # this test's session plays the run in progress
        assert acquired
        returncode, out = finished(command("cleanup_verification_codes"))
    assert (returncode, out) == (0, BUSY)
    assert codes_left() == 5000

    returncode, out = finished(command("cleanup_verification_codes"))
    assert (returncode, processed(out)) == (0, 5000)
    assert codes_left() == 0


def test_two_codes_cleanups_at_once_delete_each_code_once():
    expired_codes(60_000)
    runs = [command("cleanup_verification_codes", "--batch-size", "500") for _ in range(2)]
    results = [finished(run) for run in runs]
    assert [returncode for returncode, _out in results] == [0, 0]
    # The second either found the first running (and stopped) or started after it finished.
    counts = sorted(0 if out == BUSY else processed(out) for _returncode, out in results)
    assert counts == [0, 60_000], results
    assert codes_left() == 0


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)])
def test_codes_cleanup_stopped_half_way_loses_only_whole_batches_and_a_rerun_finishes(sig, status):
    total, batch = 200_000, 1000
    expired_codes(total)
    run = command("cleanup_verification_codes", "--batch-size", str(batch))
    deadline = time.monotonic() + 60
    while codes_left() > total - 20 * batch and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(sig)
    returncode, out = finished(run)
    assert returncode == status
    if sig == signal.SIGINT:
        assert "interrupted after" in out
    left = codes_left()
    assert 0 < left < total
    assert (total - left) % batch == 0, "a batch is committed whole or not at all"

    returncode, out = finished(command("cleanup_verification_codes", "--batch-size", str(batch)))
    assert (returncode, processed(out)) == (0, left)
    assert codes_left() == 0


def ended_lease_units(count: int) -> list[Unit]:
    today = timezone.localdate()
    units = []
    for _ in range(count):
        unit = UnitFactory()
        RemoteControlSettingFactory(device=UnitDeviceFactory(unit=unit))
        LeaseFactory(unit=unit, start_date=today - 400 * DAY, end_date=today - DAY)
        units.append(unit)
    return units


def test_move_out_dry_run_then_two_runs_at_once_reset_each_unit_once():
    ended_lease_units(120)
    returncode, out = finished(command("cleanup_move_out", "--dry-run"))
    assert (returncode, out) == (0, "cleanup_move_out: dry run, 120 units would be processed\n")
    assert RemoteControlSetting.objects.count() == 120

    runs = [command("cleanup_move_out", "--batch-size", "5") for _ in range(2)]
    results = [finished(run) for run in runs]
    assert [returncode for returncode, _out in results] == [0, 0]
    assert sum(processed(out) for _returncode, out in results) == 120
    assert RemoteControlSetting.objects.count() == 0
    returncode, out = finished(command("cleanup_move_out"))
    assert (returncode, processed(out)) == (0, 0)


def test_purge_sweep_dry_run_then_two_runs_at_once_finish_each_request_once():
    units = ended_lease_units(60)
    for unit in units:
        SettingsPurgeRequest.objects.create(unit_ids=[unit.pk])
    returncode, out = finished(command("cleanup_purge_requests", "--dry-run"))
    assert (returncode, out) == (0, "cleanup_purge_requests: dry run, 60 requests would be processed\n")

    runs = [command("cleanup_purge_requests", "--batch-size", "3") for _ in range(2)]
    results = [finished(run) for run in runs]
    assert [returncode for returncode, _out in results] == [0, 0]
    assert sum(processed(out) for _returncode, out in results) == 60
    assert set(SettingsPurgeRequest.objects.values_list("state", "attempts", "units_reset")) == {("done", 1, 1)}
    assert RemoteControlSetting.objects.count() == 0
