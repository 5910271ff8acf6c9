"""The client's address behind a proxy: whatever a client writes in X-Forwarded-For, the limits
key on an address our proxy saw, and no header is a reason for a 500 (issue 17.1)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory

from accounts import sms
from myspacecore.core.client_ip import UNKNOWN_ADDRESS, client_ip, client_ip_for_limits
from tests.security.conftest import SIGNIN

pytestmark = pytest.mark.django_db

PROXY = "127.0.0.1"  # nginx on the same host, as gunicorn sees it


def address_of(remote: str = PROXY, forwarded: str | None = None) -> str:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_HOPS = 1


# What nginx's `$proxy_add_x_forwarded_for` passes on, and whom it names as the client.
BEHIND_ONE_PROXY = {
    "missing": (None, PROXY),
    "one_hop": ("203.0.113.7", "203.0.113.7"),
    # The client sent its own header "203.0.113.7"; nginx appended the address it saw.
    "client_sent_then_proxy": ("203.0.113.7, 10.0.0.1", "10.0.0.1"),
    "garbage": ("not an address", PROXY),
    "garbage_hop": ("203.0.113.7, <script>", PROXY),
    "empty_entries": (" , ", PROXY),
    "port": ("203.0.113.7:52100", "203.0.113.7"),
    "ipv6": ("2001:db8:1:2::7", "2001:db8:1:2::7"),
    "ipv6_bracketed_port": ("[2001:db8:1:2::7]:443", "2001:db8:1:2::7"),
    "ipv4_mapped_ipv6": ("::ffff:203.0.113.7", "203.0.113.7"),
    "too_long": ("203.0.113.7, " * 400 + "198.51.100.1", PROXY),
}


@pytest.mark.parametrize(("forwarded", "expected"), BEHIND_ONE_PROXY.values(), ids=list(BEHIND_ONE_PROXY))
def test_client_is_the_right_most_address_the_trusted_proxy_added(one_proxy, forwarded, expected):
    assert address_of(forwarded=forwarded) == expected


def test_without_trusted_proxies_the_header_is_never_read():
    assert address_of("198.51.100.9", "203.0.113.7") == "198.51.100.9"


def test_trusted_networks_skip_our_load_balancers_wherever_they_stand(settings):
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8", "127.0.0.1/32"]
    # Client 203.0.113.7 -> load balancer 10.0.0.1 -> nginx 127.0.0.1 -> gunicorn.
    assert address_of(forwarded="203.0.113.7, 10.0.0.1") == "203.0.113.7"
    # A client cannot pass for one of our proxies by writing their addresses.
    assert address_of(forwarded="198.51.100.1, 203.0.113.7, 10.0.0.1") == "203.0.113.7"
    # A connection from outside our networks is the client whatever it sends.
    assert address_of("198.51.100.9", "203.0.113.7") == "198.51.100.9"


def test_two_hops_read_the_address_the_outer_proxy_saw(settings):
    settings.TRUSTED_PROXY_HOPS = 2
    assert address_of(forwarded="1.2.3.4, 203.0.113.7, 10.0.0.1") == "203.0.113.7"
    assert address_of(forwarded="10.0.0.1") == "10.0.0.1"  # a short chain: the left-most


def test_an_empty_connection_address_is_counted_under_one_key():
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) == UNKNOWN_ADDRESS


def test_ipv6_is_limited_per_64(one_proxy):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="2001:db8:1:2:aaaa::7")
    assert client_ip_for_limits(request) == "2001:db8:1:2::"


@pytest.mark.parametrize("forwarded", [None, "203.0.113.7", "2001:db8:1:2:aaaa::7", "garbage"])
def test_our_limit_key_is_the_one_django_ratelimit_counts_under(one_proxy, forwarded):
    """Counters we give back (core.ratelimits.release) must find django-ratelimit's own key."""
    from django_ratelimit.core import _get_ip

    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, **extra)
    assert client_ip_for_limits(request) == _get_ip(request)


@pytest.mark.parametrize("forwarded", [None, "203.0.113.7", "203.0.113.7, 10.0.0.1", "garbage", "::1, zz"])
def test_sign_in_never_answers_500_whatever_the_header(one_proxy, client, forwarded):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    response = client.post(SIGNIN, {"phone_number": "090-1234-5678"}, REMOTE_ADDR=PROXY, **extra)
    assert response.status_code == HTTPStatus.FOUND


def _numbers(count: int) -> list[str]:
    return [f"090-7000-{n:04d}" for n in range(count)]


def test_rotating_the_header_does_not_escape_the_per_address_limit(one_proxy, settings, client, send):
    """The client writes a new X-Forwarded-For each time; nginx appends its real address."""
    settings.ACCOUNTS_RATE_LIMITS = {"code_send_ip": "5/h", "code_send_ip_unverified": "5/h"}
    answers = [
        send_from(client, send, number, forwarded=f"198.51.{n}.{n}, 203.0.113.99")
        for n, number in enumerate(_numbers(8))
    ]
    assert answers == [HTTPStatus.FOUND] * 5 + [HTTPStatus.TOO_MANY_REQUESTS] * 3
    assert len(sms.outbox) == 5


def test_ipv6_addresses_of_one_64_share_a_limit(one_proxy, settings, client, send):
    settings.ACCOUNTS_RATE_LIMITS = {"code_send_ip": "3/h", "code_send_ip_unverified": "3/h"}
    answers = [
        send_from(client, send, number, forwarded=f"2001:db8:1:2::{n + 1:x}") for n, number in enumerate(_numbers(5))
    ]
    assert answers == [HTTPStatus.FOUND] * 3 + [HTTPStatus.TOO_MANY_REQUESTS] * 2


def send_from(client, send, number: str, *, forwarded: str) -> int:
    client.cookies.clear()
    client.defaults.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    return send(client, number).status_code


def test_start_up_refuses_a_raw_header_as_the_address(settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    with pytest.raises(SystemCheckError, match=r"accounts\.E012"):
        call_command("check")


@pytest.mark.parametrize(
    ("name", "value"),
    [("TRUSTED_PROXY_HOPS", -1), ("TRUSTED_PROXY_HOPS", "1"), ("TRUSTED_PROXY_NETWORKS", ["10.0.0.0/33"])],
)
def test_start_up_refuses_impossible_proxy_settings(settings, name, value):
    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=r"accounts\.E011"):
        call_command("check")


@pytest.mark.parametrize(("env", "hops"), [({}, "1"), ({"TRUSTED_PROXY_HOPS": "0"}, "0")], ids=["default", "set"])
def test_production_trusts_the_one_tls_proxy_in_front_unless_told_otherwise(env, hops):
    from tests.foundation.test_settings import production_env, run_python

    code = "import django; django.setup(); from django.conf import settings; print(settings.TRUSTED_PROXY_HOPS)"
    result = run_python(code, production_env(**env))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == hops


def test_start_up_refuses_the_retired_environment_variable(monkeypatch):
    monkeypatch.setenv("RATELIMIT_IP_META_KEY", "HTTP_X_FORWARDED_FOR")
    with pytest.raises(SystemCheckError, match=r"accounts\.E012"):
        call_command("check")
