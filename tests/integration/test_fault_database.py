"""A database outage on the real stack: gunicorn (2 workers, production settings on plain HTTP)
and a Celery worker reach PostgreSQL through a TCP proxy this test cuts (every connection
dropped, new ones refused, as a stopped server does) and restores, so the machine's PostgreSQL
is never stopped. Redis is a redis-server of the test's own.

During the cut every page answers the outage page (503, Retry-After), never a 500; a posted
form says nothing was saved; the log holds warnings, not an Internal Server Error per request.
Once restored, the site answers again within seconds without a restart, and writes land.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http import HTTPStatus

import pytest

from accounts.models import Profile, User
from bench import client as browser
from bench import harness
from tests.factories import ProfileFactory
from tests.integration.test_fault_drills import database_url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+819012340001"


class CuttableProxy:
    """127.0.0.1:`port` → `upstream`, byte for byte; `cut()` drops every connection and refuses new ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = harness.free_port()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            source.settimeout(None)
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for end in connections:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    db = connection.settings_dict
    proxy = CuttableProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    inbox = tmp_path_factory.mktemp("database-drill")
    through_proxy = database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/")
    with harness.redis_server() as (redis_url, _process):
        env = harness.stack_env(
            database_url=through_proxy,
            redis_url=redis_url,
            SMS_BACKEND="bench.sms.InboxSmsBackend",
            SMS_FILE_PATH=str(inbox),
        )
        with (
            django_db_blocker.unblock(),
            harness.gunicorn(workers=2, **env) as base,
            harness.celery_worker(name="database-drill", queues="celery,codes", **env),
        ):
            yield {"base": base, "inbox": inbox, "proxy": proxy}
    proxy.cut()


def signed_in(stack) -> browser.Resident:
    resident = browser.Resident(stack["base"], ip="10.40.0.1")
    assert resident.post("/signin/", {"phone_number": "0" + PHONE[3:]}).status_code == HTTPStatus.FOUND
    code = browser.code_from_inbox(stack["inbox"], PHONE)
    assert resident.post("/signin/code/", {"code": code}).headers["Location"] == "/mypage/"
    ProfileFactory(user=User.objects.get(phone_number=PHONE), nickname="まえ")
    return resident


def gunicorn_log_since(offset: int) -> str:
    path = harness.ARTIFACTS / "gunicorn.log"
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


def test_database_cut_answers_the_outage_page_then_recovers_without_a_restart(stack):
    resident = signed_in(stack)
    assert resident.get("/mypage/").status_code == HTTPStatus.OK
    log_offset = (harness.ARTIFACTS / "gunicorn.log").stat().st_size

    stack["proxy"].cut()
    statuses = []
    for _ in range(6):  # both gunicorn workers, persistent connections and new ones alike
        page = resident.get("/mypage/")
        statuses.append(page.status_code)
        posted = resident.post("/mypage/myspacecore/", {"nickname": "あと"})
        statuses.append(posted.status_code)
    assert set(statuses) == {HTTPStatus.SERVICE_UNAVAILABLE}
    assert page.headers["Retry-After"] == "30"
    assert "ただいまご利用いただけません" in page.text
    assert "送信した内容は保存されていません" in posted.text
    health = browser.Resident(stack["base"]).get("/healthz")  # a load balancer: no cookie
    assert health.status_code == HTTPStatus.SERVICE_UNAVAILABLE and health.json()["database"] == "unavailable"

    stack["proxy"].start()
    cut_over = time.monotonic()
    while resident.get("/mypage/").status_code != HTTPStatus.OK:
        assert time.monotonic() - cut_over < 10, "the site did not recover within 10 s"
        time.sleep(0.1)
    # The nickname the resident sends again is saved: nothing of the outage is left behind.
    assert resident.post("/mypage/myspacecore/", {"nickname": "あと"}).status_code == HTTPStatus.FOUND
    assert Profile.objects.get(user__phone_number=PHONE).nickname == "あと"

    log = gunicorn_log_since(log_offset)
    assert "Internal Server Error" not in log and "Traceback" not in log
    # One warning per worker process and minute, not one per request.
    assert 1 <= log.count("database unavailable") <= 4
