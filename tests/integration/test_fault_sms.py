"""A failing SMS provider on the real stack: the Twilio backend, pointed (TWILIO_API_BASE_URL)
at a tiny HTTP server in this test that answers 500, or hangs past SMS_TIMEOUT, or works.

gunicorn and two Celery workers as in the Procfile (`codes`: code delivery only, 2 children;
`celery`: everything else) on a redis-server of the test's own. The provider's circuit opens
after a few failures: codes then fail at once and the code page says so; a hanging provider
holds only the `codes` worker, while the `celery` queue keeps draining.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import redis

from accounts.models import VerificationCode
from bench import client as browser
from bench import harness
from tests.integration.test_fault_drills import database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SMS_TIMEOUT = 2
OPEN_SECONDS = 6


class FakeTwilio(ThreadingHTTPServer):
    """Twilio's Messages API as far as the SDK needs it; `mode` is "ok", "error" (500) or "hang"."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.calls: list[dict[str, str]] = []
        self.released = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def code_for(self, e164: str) -> str:
        bodies = [call["Body"] for call in self.calls if call.get("To") == e164 and call.get("answered") == "201"]
        assert bodies, f"no SMS to {e164} accepted"
        return browser.CODE_RE.search(bodies[-1]).group(1)


class _Handler(BaseHTTPRequestHandler):
    server: FakeTwilio

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        call = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.calls.append(call)
        mode = self.server.mode
        if mode == "hang":
            self.server.released.wait(30)
            return
        status, payload = (201, {"sid": "SM" + "0" * 32, "status": "queued", "to": call.get("To")})
        if mode == "error":
            status, payload = 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
        call["answered"] = str(status)
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    provider = FakeTwilio()
    with harness.redis_server() as (redis_url, _process):
        env = harness.stack_env(
            database_url=database_url(),
            redis_url=redis_url,
            SMS_BACKEND="accounts.sms.backends.twilio.SmsBackend",
            TWILIO_API_BASE_URL=provider.url,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="token",
            TWILIO_FROM_NUMBER="+15005550006",
            SMS_TIMEOUT=str(SMS_TIMEOUT),
            SMS_CIRCUIT_FAILURES="5",
            SMS_CIRCUIT_OPEN_SECONDS=str(OPEN_SECONDS),
        )
        with (
            django_db_blocker.unblock(),
            harness.gunicorn(workers=2, **env) as base,
            harness.celery_worker(name="sms-codes", queues="codes", concurrency=2, **env),
            harness.celery_worker(name="sms-celery", queues="celery", concurrency=1, **env),
        ):
            yield {"base": base, "provider": provider, "redis": redis.Redis.from_url(redis_url)}
    provider.released.set()
    provider.shutdown()


@pytest.fixture(autouse=True)
def _provider_works_and_circuit_closed(stack):
    stack["provider"].mode = "ok"
    stack["provider"].released.set()
    stack["provider"].released = threading.Event()
    stack["provider"].calls.clear()
    for key in stack["redis"].scan_iter(":1:sms.circuit.*"):
        stack["redis"].delete(key)


def ask(stack, n: int, *, first: int) -> list[tuple[browser.Resident, str]]:
    residents = []
    for i in range(first, first + n):
        national = f"090-7{i:03d}-{i:04d}"
        resident = browser.Resident(stack["base"], ip=f"10.50.{i // 200}.{i % 200 + 1}")
        assert resident.post("/signin/", {"phone_number": national}).status_code == HTTPStatus.FOUND
        residents.append((resident, "+81" + national.replace("-", "")[1:]))
    return residents


def deliveries(targets: list[str]) -> list[str]:
    return list(VerificationCode.objects.filter(target__in=targets).values_list("delivery", flat=True))


def test_provider_answering_500_opens_the_circuit_and_the_code_page_says_the_sms_failed(stack):
    provider = stack["provider"]
    provider.mode = "error"
    residents = ask(stack, 8, first=1)
    targets = [e164 for _, e164 in residents]
    wait_for(
        lambda: set(deliveries(targets)) == {VerificationCode.Delivery.FAILED}, timeout=30, what="every code failed"
    )
    # The circuit stopped the calls: 5 failures opened it, then nothing reached the provider
    # (without it: 8 codes × 6 attempts = 48 calls over a minute).
    assert len(provider.calls) <= 6
    resident, _e164 = residents[-1]
    page = resident.get("/signin/code/")
    assert page.status_code == HTTPStatus.OK
    assert "に SMS を送信できませんでした" in page.text and 'name="code"' not in page.text
    status = resident.get("/signin/code/status/").json()
    assert status["delivery"] == "failed" and status["retry_after"] > 0

    # The provider is back: once the circuit's open time is over, one trial send closes it.
    provider.mode = "ok"
    time.sleep(OPEN_SECONDS + 0.5)
    ((newcomer, e164),) = ask(stack, 1, first=50)
    wait_for(lambda: deliveries([e164]) == [VerificationCode.Delivery.SENT], timeout=15, what="the trial delivered")
    assert newcomer.post("/signin/code/", {"code": provider.code_for(e164)}).headers["Location"] == "/mypage/"


# The test process's app runs tasks eagerly (unit tier); these go to the stack's broker.
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_hanging_provider_holds_only_the_codes_worker_and_codes_fail_within_bounds(stack):
    provider = stack["provider"]
    provider.mode = "hang"
    r = stack["redis"]
    r.set(":1:bench:noop:count", 0)
    started = time.monotonic()
    residents = ask(stack, 8, first=100)
    targets = [e164 for _, e164 in residents]

    # Purges, notices and the like (`celery`) are not behind the hanging sends.
    from myspacecore.celery import app

    with app.connection_for_write(url=_broker(stack)) as conn:
        for _ in range(20):
            app.send_task("bench.tasks.noop", queue="celery", connection=conn)
    wait_for(lambda: int(r.get(":1:bench:noop:count") or 0) == 20, timeout=10, what="20 tasks on the celery queue")
    assert time.monotonic() - started < 10

    wait_for(
        lambda: set(deliveries(targets)) == {VerificationCode.Delivery.FAILED}, timeout=60, what="every code failed"
    )
    # Each hanging call costs SMS_TIMEOUT; after 5 the circuit answers at once.
    assert len(provider.calls) <= 7
    page = residents[0][0].get("/signin/code/")
    assert "に SMS を送信できませんでした" in page.text


def _broker(stack) -> str:
    kwargs = stack["redis"].connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/0"
