"""The admin sign-in: failures throttled per username and address, per IP, per username; residents never get in."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import ProfileFactory, ResidentFactory, StaffFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "a-long-staff-password"


def attempt(client: Client, username: str, password: str, ip: str = "198.51.100.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failed_sign_ins_lock_the_username_from_that_address_even_with_the_right_password(client):
    StaffFactory(username="alice")
    with time_machine.travel("2026-11-25 10:00:00+00:00", tick=False):
        for _ in range(5):
            assert attempt(client, "alice", "wrong").status_code == HTTPStatus.OK
        locked = attempt(client, "alice", PASSWORD)
        assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert int(locked["Retry-After"]) > 0
        assert "_auth_user_id" not in client.session
        # The same username however it is typed, from that address.
        assert attempt(Client(), "ALICE ", PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
        # From another address the staff member still signs in (the lock is the address's first).
        assert attempt(Client(), "alice", PASSWORD, ip="203.0.113.9").status_code == HTTPStatus.FOUND
    with time_machine.travel("2026-11-25 10:16:00+00:00", tick=False):
        assert attempt(client, "alice", PASSWORD).status_code == HTTPStatus.FOUND


def test_a_username_that_reads_ip_is_still_counted_per_username(client):
    StaffFactory(username="ip")
    with time_machine.travel("2026-11-25 10:00:00+00:00", tick=False):
        for n in range(10):  # ten addresses: only the username's count (all addresses) can fill up
            assert attempt(Client(), "ip", "wrong", ip=f"203.0.113.{n + 1}").status_code == HTTPStatus.OK
        assert attempt(client, "ip", PASSWORD, ip="198.51.100.7").status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_failures_from_one_ip_across_usernames_lock_that_ip(client, settings):
    settings.ACCOUNTS_RATE_LIMITS = {"admin_login_ip": "3/15m"}
    StaffFactory(username="bob")
    with time_machine.travel("2026-11-25 10:00:00+00:00", tick=False):
        for name in ("u1", "u2", "u3"):
            attempt(client, name, "wrong")
        assert attempt(client, "bob", PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert attempt(Client(), "bob", PASSWORD, ip="203.0.113.9").status_code == HTTPStatus.FOUND


def test_successful_sign_ins_do_not_count(client):
    StaffFactory(username="carol")
    for _ in range(8):
        assert attempt(Client(), "carol", PASSWORD).status_code == HTTPStatus.FOUND


def test_a_resident_can_never_sign_in_to_the_admin(client):
    resident = ResidentFactory()
    response = attempt(client, str(resident.phone_number), "")
    assert response.status_code == HTTPStatus.OK
    assert "_auth_user_id" not in client.session


def test_a_signed_in_resident_is_sent_to_the_admin_sign_in(client):
    resident = ResidentFactory()
    ProfileFactory(user=resident)
    client.force_login(resident)
    response = client.get(reverse("admin:index"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(LOGIN)
    assert client.get(reverse("admin:tenancy_lease_changelist")).status_code == HTTPStatus.FOUND


def test_the_footer_links_to_the_operator_sign_in(client):
    response = client.get(reverse("accounts:signin"))
    content = response.content.decode()
    assert f'href="{LOGIN}"' in content and "導入事業者様向けログイン" in content
