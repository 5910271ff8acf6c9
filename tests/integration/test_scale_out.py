"""Two gunicorn instances and two Celery workers on one machine, sharing PostgreSQL and Redis.

Requests alternate between the instances like a round-robin load balancer: rate limits,
the one-try rule and sessions hold across them, and two workers purge a deleted
account's settings exactly once. The stack runs production settings on plain HTTP
(bench.settings: Redis cache, cached_db sessions) on a throwaway redis-server of its own,
so flushing the test Redis never touches it.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from http import HTTPStatus

import pytest
from django.db import connection

from accounts.models import User, VerificationCode
from bench import client as browser
from bench import harness
from smarthome.models import PinCode, RemoteControlSetting, SettingsPurgeRequest
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory
from tests.smarthome.factories import PinCodeFactory, RemoteControlSettingFactory, UnitSmartLockFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+819012345678"


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """Instances A and B (gunicorn, 1 worker each), two Celery workers, one inbox of SMS."""
    inbox = tmp_path_factory.mktemp("inbox")
    with django_db_blocker.unblock(), harness.redis_server() as (redis_url, _):
        env = harness.stack_env(
            database_url=database_url(),
            redis_url=redis_url,
            SMS_BACKEND="bench.sms.InboxSmsBackend",
            SMS_FILE_PATH=str(inbox),
        )
        with (
            harness.gunicorn(workers=1, **env) as a,
            harness.gunicorn(workers=1, **env) as b,
            harness.celery_worker(name="scale-1", **env),
            harness.celery_worker(name="scale-2", **env),
        ):
            yield {"a": a, "b": b, "inbox": inbox, "redis_url": redis_url}


@pytest.fixture(autouse=True)
def _fresh_limits(stack):
    """Rate-limit counters live in the stack's Redis: every test starts from zero."""
    import redis

    redis.Redis.from_url(stack["redis_url"]).flushdb()


def sign_in(resident: browser.Resident, phone: str, inbox, *, phone_on: str, code_on: str) -> None:
    before = browser.sms_count(inbox, phone)
    response = resident.post("/signin/", {"phone_number": "0" + phone[3:]}, base=phone_on)
    assert response.status_code == HTTPStatus.FOUND, response.text[:500]
    code = browser.code_from_inbox(inbox, phone, after=before)
    response = resident.post("/signin/code/", {"code": code}, base=code_on)
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == "/mypage/"


def test_ip_rate_limit_counts_requests_on_both_instances(stack):
    resident = browser.Resident(stack["a"], ip="10.20.0.1")
    statuses = []
    # code_send_ip_unverified is 100/h (codes from one address not used): sends to 101
    # different numbers, alternating A, B, A, …, none of them used.
    for i in range(101):
        base = stack["a"] if i % 2 == 0 else stack["b"]
        statuses.append(resident.post("/signin/", {"phone_number": f"090-5555-{i:04d}"}, base=base).status_code)
    assert statuses[:100] == [HTTPStatus.FOUND] * 100
    assert statuses[100] == HTTPStatus.TOO_MANY_REQUESTS


def test_one_try_rule_holds_across_instances(stack):
    resident = browser.Resident(stack["a"], ip="10.20.0.2")
    response = resident.post("/signin/", {"phone_number": "090-1234-5678"}, base=stack["a"])
    assert response.status_code == HTTPStatus.FOUND
    code = browser.code_from_inbox(stack["inbox"], PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    # The wrong try lands on B; the right code, sent next to A, no longer signs in.
    response = resident.post("/signin/code/", {"code": wrong}, base=stack["b"])
    assert response.headers["Location"] == "/signin/"
    response = resident.post("/signin/code/", {"code": code}, base=stack["a"])
    assert response.headers["Location"] == "/signin/"
    assert VerificationCode.objects.get(target=PHONE).state == VerificationCode.State.BURNED
    assert resident.get("/mypage/", base=stack["b"]).status_code == HTTPStatus.FOUND
    # The failure wait recorded through B refuses a new code on A.
    response = resident.post("/signin/", {"phone_number": "090-1234-5678"}, base=stack["a"])
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "認証コードをまちがえたため、" in response.text
    assert "以降に新しい認証コードを送信できます（あと" in response.text


def test_session_survives_a_request_on_the_other_instance(stack):
    resident = browser.Resident(stack["a"], ip="10.20.0.3")
    sign_in(resident, PHONE, stack["inbox"], phone_on=stack["a"], code_on=stack["b"])
    user = User.objects.get(phone_number=PHONE)
    ProfileFactory(user=user)
    for base in (stack["a"], stack["b"], stack["a"], stack["b"]):
        assert resident.get("/mypage/", base=base).status_code == HTTPStatus.OK
    # Signed out on B: A no longer knows the session either.
    assert resident.post("/signout/", {}, base=stack["b"]).status_code == HTTPStatus.FOUND
    assert resident.get("/mypage/", base=stack["a"]).status_code == HTTPStatus.FOUND


def test_two_workers_purge_a_deleted_account_exactly_once(stack):
    from celery import Celery

    user = ResidentFactory(phone_number=PHONE)
    ProfileFactory(user=user)
    # A lease that ended yesterday: nothing protects the unit, so its settings must go.
    lease = LeaseFactory(
        phone_number=PHONE,
        resident=user,
        start_date=date.today() - timedelta(days=400),
        end_date=date.today() - timedelta(days=1),
    )
    lock = UnitSmartLockFactory(unit=lease.unit)
    PinCodeFactory.create_batch(3, device=lock)
    RemoteControlSettingFactory.create_batch(5, device=lock)

    resident = browser.Resident(stack["a"], ip="10.20.0.4")
    sign_in(resident, PHONE, stack["inbox"], phone_on=stack["b"], code_on=stack["a"])
    assert resident.post("/mypage/myspacecore/deletion/", {"agree": "on"}, base=stack["a"]).status_code == 302
    response = resident.post("/mypage/myspacecore/deletion/confirm/", {}, base=stack["b"])
    assert response.headers["Location"] == "/mypage/myspacecore/deletion/done/"

    # Both workers sweep at once, while the request may still be running.
    # Not the current app: shared tasks of later tests would otherwise publish to this broker.
    sender = Celery(broker=stack["redis_url"], set_as_current=False)
    for _ in range(4):
        sender.send_task("smarthome.settings_purge_requests_sweep")
    purge = SettingsPurgeRequest.objects.get()
    deadline = time.monotonic() + 30
    while purge.state == SettingsPurgeRequest.State.PENDING and time.monotonic() < deadline:
        time.sleep(0.2)
        purge.refresh_from_db()
    assert purge.state == SettingsPurgeRequest.State.DONE
    # Counted once: a second run would have found nothing (or doubled the counts).
    assert (purge.units_reset, purge.pin_codes_purged, purge.remote_settings_purged) == (1, 3, 5)
    assert not PinCode.objects.exists()
    assert not RemoteControlSetting.objects.exists()
    assert not User.objects.filter(phone_number=PHONE).exists()
