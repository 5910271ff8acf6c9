"""The purge of a deleted account on the real stack: PostgreSQL, Redis and `celery worker` processes.

A worker is killed with SIGKILL while it is in the middle of a purge: the test holds a row
lock on the second unit to purge, so the worker has already purged the first one (in its
open transaction) and waits on the second when it dies. Afterwards the request is
finished by redelivery (a lost pool child) or by the cleanup command (a lost worker):
nothing of the settings survives, and nothing of a protected unit is lost.
"""

from __future__ import annotations

import datetime
import io
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.services.deletion import account_delete
from smarthome.models import PinCode, RemoteControlSetting, SettingsPurgeRequest
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, UnitFactory, attribute
from tests.smarthome.factories import (
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
    UnitSmartLockFactory,
)

# Transactional tests empty the tables; serialized rollback brings back the seeded attributes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime.timedelta(days=1)


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(settings, *, pool: str):
    """`celery_worker_process` of tests/integration/conftest.py, with a choice of pool.

    `prefork` with one child lets a test kill the child alone (the parent survives and
    sees the worker lost); `solo` runs tasks in the worker process itself.
    """
    from myspacecore.celery import app

    # A message left unacknowledged by an earlier killed worker must not come back here.
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = (ROOT / "artifacts" / "celery-worker-purge.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "myspacecore",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"purge-{os.getpid()}-{pool}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the celery worker did not start (see artifacts/celery-worker-purge.log)")
        yield process
    finally:
        app.conf.task_always_eager = True
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def furnished_unit():
    unit = UnitFactory()
    RemoteControlSettingFactory.create_batch(2, device=UnitDeviceFactory(unit=unit))
    PinCodeFactory(device=UnitSmartLockFactory(unit=unit))
    return unit


def settings_of(unit) -> int:
    return (
        RemoteControlSetting.objects.filter(device__unit=unit).count()
        + PinCode.objects.filter(device__unit=unit).count()
    )


def moved_out_resident():
    """A resident who left two units (not reset yet) and a third that has a new tenant now."""
    today = timezone.localdate()
    user = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=user)
    first, second, protected = furnished_unit(), furnished_unit(), furnished_unit()
    for unit in (first, second, protected):
        LeaseFactory(unit=unit, resident=user, start_date=today - 400 * DAY, end_date=today - 3 * DAY)
    LeaseFactory(unit=protected, start_date=today - 2 * DAY)
    PinCodeFactory(device=SmartLockFactory(owner_user=user))
    return user, first, second, protected


def wait_for(predicate, *, timeout: float = 60.0, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def request_state(purge_request) -> str:
    return SettingsPurgeRequest.objects.values_list("state", flat=True).get(pk=purge_request.pk)


@contextmanager
def unit_row_locked(unit):
    """Hold `SELECT … FOR UPDATE` on the unit from another connection until the block ends."""
    with psycopg.connect(database_url()) as other:
        other.execute("SELECT id FROM accounts_unit WHERE id = %s FOR UPDATE", [unit.pk])
        yield other
        other.rollback()


def a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_worker_purges_the_settings_of_a_deleted_account(settings):
    user, first, second, protected = moved_out_resident()
    with celery_worker(settings, pool="solo"):
        purge_request = account_delete(user=user).erased["smart_home"]
        wait_for(lambda: request_state(purge_request) == "done", what="the worker to finish the purge")
    assert (settings_of(first), settings_of(second), settings_of(protected)) == (0, 0, 3)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM smarthome_pincode p JOIN smarthome_device d ON d.id = p.device_id "
            "WHERE d.owner_user_id IS NOT NULL"
        )
        assert cursor.fetchone()[0] == 0


def test_pool_child_killed_mid_purge_is_redelivered_and_finishes(settings):
    user, first, second, protected = moved_out_resident()
    with celery_worker(settings, pool="prefork") as worker:
        with unit_row_locked(second):
            purge_request = account_delete(user=user).erased["smart_home"]
            wait_for(a_backend_waits_on_a_lock, what="the worker to block in the middle of the purge")
            children = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(worker.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
            assert len(children) == 1, children
            os.kill(int(children[0]), signal.SIGKILL)
            time.sleep(0.5)
            assert request_state(purge_request) == "pending"
            assert settings_of(first) == 3, "the dead worker's half-done purge is not committed"
        # acks_late + reject_on_worker_lost: the message is requeued and a new child runs it.
        wait_for(lambda: request_state(purge_request) == "done", what="the redelivered purge")
    purge_request.refresh_from_db()
    assert (purge_request.units_reset, purge_request.attempts) == (2, 1)
    assert (settings_of(first), settings_of(second), settings_of(protected)) == (0, 0, 3)


def test_worker_killed_mid_purge_leaves_it_pending_and_the_cleanup_command_finishes_it(settings):
    user, first, second, protected = moved_out_resident()
    with celery_worker(settings, pool="solo") as worker, unit_row_locked(second):
        purge_request = account_delete(user=user).erased["smart_home"]
        wait_for(a_backend_waits_on_a_lock, what="the worker to block in the middle of the purge")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    assert request_state(purge_request) == "pending"

    def sweep_finishes() -> bool:
        # The killed worker's server process may hold its locks for a moment: SKIP LOCKED passes it by.
        call_command("cleanup_purge_requests", stdout=io.StringIO())
        return request_state(purge_request) == "done"

    wait_for(sweep_finishes, timeout=30, what="the cleanup command to finish the purge")
    assert (settings_of(first), settings_of(second), settings_of(protected)) == (0, 0, 3)
    out = io.StringIO()
    call_command("cleanup_purge_requests", stdout=out)
    assert out.getvalue() == "cleanup_purge_requests: 0 requests processed in 0 batches, 0 failed\n"


def test_broker_down_at_deletion_keeps_the_deletion_and_the_request_pending(settings, client, broker_down):
    from django.urls import reverse

    user, first, second, protected = moved_out_resident()
    client.force_login(user)
    client.post(reverse("accounts:deletion"), {"agree": "on"})
    response = client.post(reverse("accounts:deletion_confirm"))
    assert response.url == reverse("accounts:deletion_done")
    assert not type(user).objects.filter(pk=user.pk).exists()
    purge_request = SettingsPurgeRequest.objects.get()
    assert purge_request.state == "pending"
    assert settings_of(first) == 3

    call_command("cleanup_purge_requests", stdout=io.StringIO())
    # Purged here, but the devices cannot be told while the broker is down: the request waits for
    # them, and their channels lag, so the lag sweep publishes once the broker is back.
    assert request_state(purge_request) == "awaiting_devices"
    assert (settings_of(first), settings_of(second), settings_of(protected)) == (0, 0, 3)
    from smarthome.models import Device
    from smarthome.sync.selectors import channels_lagging

    reset_devices = Device.objects.filter(unit__in=[first, second]).values_list("channel_id", flat=True)
    assert set(channels_lagging()) == set(reset_devices)
