"""Issue 17.7 on the real services: the guessing limit (a number's failure count and wait) is in
PostgreSQL, so a Redis that comes back empty (restarted without persistence: FLUSHALL here, on
a redis-server of the test's own) resets the rate-limit windows and nothing else."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import redis
from django.db import connection

from accounts.models import VerificationTarget
from bench import client as browser
from bench import harness

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+819012340077"
NATIONAL = "090-1234-0077"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory):
    inbox = tmp_path_factory.mktemp("inbox")
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    with django_db_blocker.unblock(), harness.redis_server() as (redis_url, _):
        env = harness.stack_env(
            database_url=database_url,
            redis_url=redis_url,
            SMS_BACKEND="bench.sms.InboxSmsBackend",
            SMS_FILE_PATH=str(inbox),
        )
        with harness.gunicorn(workers=1, **env) as base, harness.celery_worker(name="guessing", **env):
            yield {"base": base, "inbox": inbox, "redis_url": redis_url}


def fail_once(site, resident: browser.Resident) -> None:
    before = browser.sms_count(site["inbox"], PHONE)
    assert resident.post("/signin/", {"phone_number": NATIONAL}).status_code == HTTPStatus.FOUND
    code = browser.code_from_inbox(site["inbox"], PHONE, after=before)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert resident.post("/signin/code/", {"code": wrong}).headers["Location"] == "/signin/"


def test_an_emptied_redis_keeps_the_wait_after_a_wrong_code(site):
    resident = browser.Resident(site["base"], ip="203.0.113.77")
    fail_once(site, resident)
    redis.Redis.from_url(site["redis_url"]).flushall()  # Redis restarted with nothing on disk

    again = browser.Resident(site["base"], ip="203.0.113.78")
    refused = again.post("/signin/", {"phone_number": NATIONAL})
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(refused.headers["Retry-After"]) <= 30
    assert re.search(r"認証コードをまちがえたため、\d+:\d\d 以降に新しい認証コードを送信できます", refused.text)
    row = VerificationTarget.objects.get(target=PHONE)
    assert row.consecutive_failures == 1
    assert row.wait_until is not None
