"""Fault drills on the real stack: Redis stopped, PostgreSQL connections cut, the SMS
provider failing, a worker (a pool child, or the whole worker) killed in the middle of a
delivery.

The stack (gunicorn with 2 workers and one Celery worker, production settings on plain
HTTP: bench.settings) runs on a throwaway redis-server of its own, so stopping Redis
never disturbs other tests on this machine; "PostgreSQL restarted" is simulated by
terminating every backend of the test database (pg_terminate_backend), never by
stopping the server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from http import HTTPStatus
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts.models import User, VerificationCode, VerificationTarget
from bench import client as browser
from bench import harness
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+819012345678"


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class RedisServer:
    """A redis-server this test starts, stops and starts again on the same port."""

    def __init__(self) -> None:
        self.port = harness.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    files = tmp_path_factory.mktemp("drills")
    inbox = files / "inbox"
    inbox.mkdir()
    redis_server = RedisServer()
    redis_server.start()
    env = harness.stack_env(
        database_url=database_url(), redis_url=redis_server.url,
        SMS_BACKEND="bench.sms.DrillSmsBackend", SMS_FILE_PATH=str(inbox),
        BENCH_SMS_OUTAGE=str(files / "outage"), BENCH_SMS_SLOW=str(files / "slow"), BENCH_SMS_SECONDS="3",
    )
    try:
        with (
            django_db_blocker.unblock(),
            harness.gunicorn(workers=2, **env) as base,
            harness.celery_worker(name="drill", **env) as worker,
        ):
            yield {
                "base": base, "inbox": inbox, "redis": redis_server, "worker": worker, "env": env,
                "outage": files / "outage", "slow": files / "slow",
            }
    finally:
        redis_server.stop()


@pytest.fixture(autouse=True)
def _healthy_stack(stack):
    """Each drill starts with Redis up and empty, and a provider that works."""
    import redis

    if stack["redis"].process.poll() is not None:
        stack["redis"].start()
    redis.Redis.from_url(stack["redis"].url).flushdb()
    for marker in ("outage", "slow"):
        stack[marker].unlink(missing_ok=True)


def signed_in(stack, phone: str = PHONE, *, ip: str = "10.30.0.1") -> browser.Resident:
    resident = browser.Resident(stack["base"], ip=ip)
    before = browser.sms_count(stack["inbox"], phone)
    assert resident.post("/signin/", {"phone_number": "0" + phone[3:]}).status_code == HTTPStatus.FOUND
    code = browser.code_from_inbox(stack["inbox"], phone, after=before)
    assert resident.post("/signin/code/", {"code": code}).headers["Location"] == "/mypage/"
    ProfileFactory(user=User.objects.get(phone_number=phone))
    return resident


def wait_for(predicate, *, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} not reached within {timeout} s (see artifacts/bench/*.log)")


def test_redis_stopped_pages_render_code_send_answers_503_then_recovers(stack):
    resident = signed_in(stack)
    stack["redis"].stop()

    # Pages that need no code still render: sessions fall back to PostgreSQL.
    assert resident.get("/mypage/").status_code == HTTPStatus.OK
    assert resident.get("/mypage/myspacecore/").status_code == HTTPStatus.OK
    visitor = browser.Resident(stack["base"], ip="10.30.0.2")
    assert visitor.get("/signin/").status_code == HTTPStatus.OK
    assert visitor.get("/help/").status_code == HTTPStatus.OK

    started = time.monotonic()
    response = visitor.post("/signin/", {"phone_number": "090-2222-3333"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "認証コードを送信できませんでした" in response.text
    assert time.monotonic() - started < 10
    # Nothing half-done: no code waiting for delivery, no resend wait charged.
    assert not VerificationCode.objects.filter(target="+819022223333", state=VerificationCode.State.PENDING).exists()
    assert not VerificationTarget.objects.filter(target="+819022223333", last_issued_at__isnull=False).exists()

    stack["redis"].start()
    # Back without restarting gunicorn or the worker: the same number gets its code now.
    response = visitor.post("/signin/", {"phone_number": "090-2222-3333"})
    assert response.status_code == HTTPStatus.FOUND
    code = browser.code_from_inbox(stack["inbox"], "+819022223333", timeout=60)
    assert visitor.post("/signin/code/", {"code": code}).headers["Location"] == "/mypage/"


def test_redis_stopped_code_verify_and_profile_code_send_answer_503_then_recover(stack):
    resident = signed_in(stack, "+819011112222", ip="10.30.0.3")
    visitor = browser.Resident(stack["base"], ip="10.30.0.4")
    assert visitor.post("/signin/", {"phone_number": "090-4444-5555"}).status_code == HTTPStatus.FOUND
    code = browser.code_from_inbox(stack["inbox"], "+819044445555")
    stack["redis"].stop()

    # The sign-in code POST counts against the verify limits first: 503, the code not used up.
    response = visitor.post("/signin/code/", {"code": code})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "認証コードを送信できませんでした" in response.text
    assert VerificationCode.objects.get(target="+819044445555").state == VerificationCode.State.PENDING
    # The profile's phone change sends a code: the same 503, no code issued.
    response = resident.post("/mypage/myspacecore/phone/", {"phone_number": "090-6666-7777"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "認証コードを送信できませんでした" in response.text
    assert not VerificationCode.objects.filter(target="+819066667777").exists()

    stack["redis"].start()
    # The same code signs in once Redis is back.
    assert visitor.post("/signin/code/", {"code": code}).headers["Location"] == "/mypage/"
    response = resident.post("/mypage/myspacecore/phone/", {"phone_number": "090-6666-7777"})
    assert response.status_code == HTTPStatus.FOUND


def test_postgres_connections_cut_then_requests_recover(stack):
    resident = signed_in(stack)
    for _ in range(4):  # both gunicorn workers hold a persistent connection (CONN_MAX_AGE)
        assert resident.get("/mypage/").status_code == HTTPStatus.OK

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    with psycopg.connect(database_url(), autocommit=True) as admin:
        # Every backend of the test database but this test's own: what a server restart does to the site.
        cut = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [own],
        ).fetchone()[0]
    assert cut >= 2
    statuses = [resident.get("/mypage/").status_code for _ in range(10)]
    # CONN_HEALTH_CHECKS: each worker notices its dead connection and opens a new one; a
    # request that meets the cut connection gets the outage page, never a 500.
    assert set(statuses) <= {HTTPStatus.OK, HTTPStatus.SERVICE_UNAVAILABLE}
    assert statuses[-4:] == [HTTPStatus.OK] * 4
    # The Celery worker's connection was cut too: it still delivers.
    visitor = browser.Resident(stack["base"], ip="10.30.0.3")
    assert visitor.post("/signin/", {"phone_number": "090-4444-5555"}).status_code == HTTPStatus.FOUND
    browser.code_from_inbox(stack["inbox"], "+819044445555")


def test_provider_5xx_then_recovers_delivers_the_code_once(stack):
    phone = "+819066660001"
    stack["outage"].touch()
    visitor = browser.Resident(stack["base"], ip="10.30.0.4")
    assert visitor.post("/signin/", {"phone_number": "090-6666-0001"}).status_code == HTTPStatus.FOUND
    code_row = VerificationCode.objects.get(target=phone)
    wait_for(
        lambda: VerificationCode.objects.get(pk=code_row.pk).delivery_attempts >= 2,
        what="two failed delivery attempts",
    )
    assert browser.sms_count(stack["inbox"], phone) == 0
    stack["outage"].unlink()

    code = browser.code_from_inbox(stack["inbox"], phone, timeout=30)
    wait_for(
        lambda: VerificationCode.objects.get(pk=code_row.pk).delivery == VerificationCode.Delivery.SENT,
        what="delivery recorded as sent",
    )
    time.sleep(2)  # a duplicate would arrive with the next retry
    assert browser.sms_count(stack["inbox"], phone) == 1
    assert visitor.post("/signin/code/", {"code": code}).headers["Location"] == "/mypage/"


def pool_children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def test_worker_child_killed_during_delivery_code_is_delivered_once(stack):
    stack["slow"].touch()
    worker = stack["worker"]
    (child,) = wait_for(lambda: pool_children(worker.pid), what="the worker's pool child")
    phone = "+819066660002"
    visitor = browser.Resident(stack["base"], ip="10.30.0.5")
    assert visitor.post("/signin/", {"phone_number": "090-6666-0002"}).status_code == HTTPStatus.FOUND
    code_row = VerificationCode.objects.get(target=phone)
    # The child is inside the provider call (3 s) when it dies.
    wait_for(lambda: VerificationCode.objects.get(pk=code_row.pk).delivery_attempts >= 1, what="a delivery attempt")
    os.kill(child, signal.SIGKILL)
    stack["slow"].unlink()

    code = browser.code_from_inbox(stack["inbox"], phone, timeout=30)
    # The provider writes the message before the task records it as sent.
    wait_for(
        lambda: VerificationCode.objects.get(pk=code_row.pk).delivery == VerificationCode.Delivery.SENT,
        what="delivery recorded as sent",
    )
    assert browser.sms_count(stack["inbox"], phone) == 1
    assert visitor.post("/signin/code/", {"code": code}).headers["Location"] == "/mypage/"


def test_whole_worker_killed_during_delivery_code_comes_back_after_the_visibility_timeout(stack):
    """The worker's main process and its pool child die mid-send (SIGKILL, as a lost machine):
    nothing hands the message back but Redis' visibility timeout; a new worker then delivers
    the code once. A timeout of seconds (production: 15 minutes) keeps the code valid here."""
    import redis

    from accounts.services.verification import verification_code_issue, verification_code_verify
    from myspacecore.celery import app

    # Its own broker db, so the stack's worker (db 0) never takes this delivery.
    broker = stack["redis"].url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(broker).flushdb()
    visibility_timeout = 3
    env = {
        **stack["env"], "CELERY_BROKER_URL": broker, "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        # accounts.E007 rightly refuses a timeout shorter than a task may run; this drill's tasks are short.
        "CELERY_SKIP_CHECKS": "1",
    }
    phone = "+819066660003"
    stack["slow"].touch()
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = broker, False
    app._pool = app.amqp._producer_pool = None
    try:
        with harness.celery_worker(name="doomed", **env) as doomed:
            (child,) = wait_for(lambda: pool_children(doomed.pid), what="the worker's pool child")
            code_row = verification_code_issue(
                purpose=VerificationCode.Purpose.SIGN_IN, target=phone, channel=VerificationCode.Channel.SMS
            )
            # Inside the provider call (3 s): the whole worker goes at once, pool child too.
            wait_for(
                lambda: VerificationCode.objects.get(pk=code_row.pk).delivery_attempts >= 1, what="a delivery attempt"
            )
            os.kill(doomed.pid, signal.SIGKILL)
            os.kill(child, signal.SIGKILL)
            doomed.wait(timeout=10)
        stack["slow"].unlink()
        unacked = redis.Redis.from_url(broker).hlen("unacked")
        assert unacked == 1, "the killed worker's delivery is held by the broker, not lost"
        assert browser.sms_count(stack["inbox"], phone) == 0
        time.sleep(visibility_timeout + 1)

        with harness.celery_worker(name="successor", **env):
            code = browser.code_from_inbox(stack["inbox"], phone, timeout=30)
            wait_for(
                lambda: VerificationCode.objects.get(pk=code_row.pk).delivery == VerificationCode.Delivery.SENT,
                what="delivery recorded as sent",
            )
            wait_for(lambda: redis.Redis.from_url(broker).hlen("unacked") == 0, what="the message acknowledged")
        assert browser.sms_count(stack["inbox"], phone) == 1
        assert VerificationCode.objects.get(pk=code_row.pk).delivery_attempts == 2
        verified = verification_code_verify(
            code_id=code_row.pk, purpose=VerificationCode.Purpose.SIGN_IN, target=phone, raw_code=code
        )
        assert verified.state == VerificationCode.State.USED
    finally:
        stack["slow"].unlink(missing_ok=True)
        app.conf.broker_url, app.conf.task_always_eager = saved
        app._pool = app.amqp._producer_pool = None
