"""Fixtures of the integration tier: real PostgreSQL, Redis and a `celery worker` process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import IN_CI, require_service

ROOT = Path(__file__).resolve().parents[2]


# tryfirst: the marker must be on the items before `-m` selects among them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        # get_closest_marker, not `in item.keywords`: keywords also hold this folder's name.
        if "tests/integration/" in str(item.fspath) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _require_real_services(request):
    if request.node.get_closest_marker("integration") is None:
        return
    if not os.environ.get("MYSPACECORE_INTEGRATION"):
        message = "integration tests run through tests/integration/run.py (make test)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    assert connection.vendor == "postgresql", "the integration tier must run on PostgreSQL"


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path):
    """A real `celery worker` process on the test database, through the real Redis broker.

    Tasks are no longer run eagerly while it lives; the test's data must be committed
    (transactional_db) for the worker to see it. The worker's SMS go to files in
    `process.sms_dir` (the file-based SMS backend), where the test reads them.
    """
    from myspacecore.celery import app

    sms_dir = tmp_path / "sms"
    sms_dir.mkdir()

    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    database_url = f"postgres://{db['USER'] or 'postgres'}@{host}:{port}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "myspacecore.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SMS_BACKEND": "accounts.sms.backends.filebased.SmsBackend",
        "SMS_FILE_PATH": str(sms_dir),
    }
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = (ROOT / "artifacts" / "celery-worker.log").open("ab")
    process = subprocess.Popen(
        # Both queues a delivery or a notice may take (the Procfile's `worker` and `codes`).
        [sys.executable, "-m", "celery", "-A", "myspacecore", "worker", "--pool=solo", "--loglevel=INFO",
         "--queues", "celery,codes", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"it-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    process.sms_dir = sms_dir
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5)
            if replies:
                break
            if process.poll() is not None:
                pytest.fail("the celery worker exited at start-up (see artifacts/celery-worker.log)")
        else:
            pytest.fail("the celery worker did not answer a ping within 30 s")
        yield process
    finally:
        app.conf.task_always_eager = True
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def broker_down(settings):
    """Point the Celery app at a closed port on this machine: publishing fails like a broker outage."""
    import socket

    from myspacecore.celery import app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    def drop_pools():
        # Connections are pooled per broker URL: the next publish or ping opens new ones.
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port}/0"
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    drop_pools()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        drop_pools()
