"""Behind a proxy, on a real gunicorn (production settings on plain HTTP, bench.settings, one
trusted hop): no X-Forwarded-For a client or a proxy sends is a 500, and a client rotating its
own header keeps the address the proxy appended (issue 17.1).

The test plays the proxy: like nginx's `$proxy_add_x_forwarded_for` it passes on what the
client sent and appends the address the client connected from.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
import redis
from django.db import connection

from bench import client as browser
from bench import harness

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


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
            TRUSTED_PROXY_HOPS="1",
        )
        with harness.gunicorn(workers=1, **env) as base:
            yield {"base": base, "redis_url": redis_url}


@pytest.fixture(autouse=True)
def _fresh_limits(site):
    redis.Redis.from_url(site["redis_url"]).flushdb()


HEADERS = {
    "missing": None,
    "one_hop": "203.0.113.7",
    "client_sent_then_proxy": "203.0.113.7, 10.0.0.1",
    "garbage": "garbage",
    "garbage_last": "203.0.113.7, <script>",
    "ipv6": "2001:db8::7",
    "empty": "",
}


@pytest.mark.parametrize("forwarded", HEADERS.values(), ids=list(HEADERS))
def test_sign_in_answers_without_a_500_whatever_the_header(site, forwarded):
    resident = browser.Resident(site["base"])
    if forwarded is None:
        del resident.http.headers["X-Forwarded-For"]
    else:
        resident.http.headers["X-Forwarded-For"] = forwarded
    response = resident.post("/signin/", {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.FOUND, response.text[:300]


def test_a_client_rotating_its_own_header_keeps_the_address_the_proxy_saw(site):
    """101 numbers sprayed with a new client-sent address each time: the codes from the one
    real address are never used, so the 101st is refused (code_send_ip_unverified, 100/h)."""
    statuses = []
    for n in range(101):
        resident = browser.Resident(site["base"], ip=f"198.51.{n // 250}.{n % 250 + 1}, 203.0.113.99")
        statuses.append(resident.post("/signin/", {"phone_number": f"090-6666-{n:04d}"}).status_code)
    assert statuses[:100] == [HTTPStatus.FOUND] * 100
    assert statuses[100] == HTTPStatus.TOO_MANY_REQUESTS
    # Another real address is not affected.
    other = browser.Resident(site["base"], ip="203.0.113.98")
    assert other.post("/signin/", {"phone_number": "090-6666-9999"}).status_code == HTTPStatus.FOUND
