"""Attacks on the operator console (`/admin/`): password guessing, residents, and one operator against another."""

from __future__ import annotations

from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import User
from myspacecore.tenancy.models import Lease
from myspacecore.tenancy.roles import operator_roles_sync
from tests.admin.conftest import tenant_build
from tests.factories import ProfileFactory, ResidentFactory, StaffFactory, attribute
from tests.security.conftest import NOW

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "a-long-staff-password"


def guess(username: str, password: str, ip: str) -> tuple[int, bool]:
    browser = Client(REMOTE_ADDR=ip)
    response = browser.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response.status_code, SESSION_KEY in browser.session


def test_admin_password_guessing_from_rotating_ips_stops_after_ten_tries_but_not_the_staff_members_browser():
    """100 guesses at one username from 100 addresses: the count is per username, whatever the IP,
    for every browser that never signed in as alice; alice's own browser still signs in."""
    StaffFactory(username="alice")
    own_browser = Client(REMOTE_ADDR="192.0.2.10")
    own_browser.post(LOGIN, {"username": "alice", "password": PASSWORD})
    own_browser.post(reverse("admin:logout"))
    with time_machine.travel(NOW, tick=False):
        answers = [guess("alice" if n % 2 else " ALICE", f"guess-{n}", f"10.0.{n}.1")[0] for n in range(100)]
        right_password = guess("alice", PASSWORD, "10.9.9.9")
        own = own_browser.post(LOGIN, {"username": "alice", "password": PASSWORD, "next": "/admin/"})
    assert answers[:10] == [HTTPStatus.OK] * 10
    assert set(answers[10:]) == {HTTPStatus.TOO_MANY_REQUESTS}
    assert right_password == (HTTPStatus.TOO_MANY_REQUESTS, False)
    assert own.status_code == HTTPStatus.FOUND and SESSION_KEY in own_browser.session


def test_admin_password_spraying_from_one_ip_stops_at_the_ip_limit():
    """One common password against many usernames from one address: 20 tries per 15 minutes."""
    StaffFactory(username="bob")
    with time_machine.travel(NOW, tick=False):
        answers = [guess(f"user{n}", "Password123!", "203.0.113.5")[0] for n in range(25)]
        assert guess("bob", PASSWORD, "203.0.113.5") == (HTTPStatus.TOO_MANY_REQUESTS, False)
    assert answers[:20] == [HTTPStatus.OK] * 20
    assert set(answers[20:]) == {HTTPStatus.TOO_MANY_REQUESTS}


def test_signed_in_resident_cannot_reach_admin_pages():
    resident = ProfileFactory().user
    browser = Client()
    browser.force_login(resident)
    for url in ("/admin/", reverse("admin:tenancy_lease_changelist"), reverse("admin:smarthome_pincode_changelist")):
        response = browser.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response.url.startswith(LOGIN), url


def test_resident_cannot_sign_in_to_admin_with_the_phone_number():
    resident = ResidentFactory()
    for password in ("", "000000", str(resident.phone_number)):
        assert guess(str(resident.phone_number), password, "198.51.100.3") == (HTTPStatus.OK, False)


@pytest.fixture
def two_operators(db):

    operator_roles_sync()
    return tenant_build("A"), tenant_build("B")


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_operator_a_reading_b_residents_and_pins_by_id_gets_404(two_operators, role):
    a, b = two_operators
    browser = Client()
    browser.force_login(getattr(a, role))
    pages = [
        reverse("admin:accounts_residentaccount_change", args=[b.resident.pk]),
        reverse("admin:accounts_residentaccount_phone", args=[b.resident.pk]),
        reverse("admin:smarthome_pincode_change", args=[b.objects["smarthome.PinCode"].pk]),
        reverse("admin:tenancy_lease_change", args=[b.objects["tenancy.Lease"].pk]),
    ]
    for url in pages:
        response = browser.get(url)
        assert response.status_code == HTTPStatus.NOT_FOUND, url
        assert "B-" not in response.content.decode(), url


def test_operator_a_changing_b_residents_phone_by_id_changes_nothing(two_operators):
    a, b = two_operators
    browser = Client()
    browser.force_login(a.admin)
    before = User.objects.get(pk=b.resident.pk)
    response = browser.post(
        reverse("admin:accounts_residentaccount_phone", args=[b.resident.pk]),
        {"phone_number": "090-8888-7777", "confirm": "on"},
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    after = User.objects.get(pk=b.resident.pk)
    assert (after.phone_number, after.session_token) == (before.phone_number, before.session_token)


def test_operator_a_mass_assigning_rows_to_operator_b_is_refused(two_operators):
    """Hidden or foreign ids in the body: a lease on B's unit, a staff account in operator B."""
    a, b = two_operators
    browser = Client()
    browser.force_login(a.admin)
    browser.post(
        reverse("admin:tenancy_lease_add"),
        {
            "unit": b.unit.pk,
            "phone_number": "090-7777-6666",
            "attribute": attribute("rental_resident").pk,
            "start_date": "2026-12-01",
        },
    )
    assert not Lease.objects.filter(phone_number="+819077776666").exists()
    browser.post(
        reverse("admin:accounts_staffaccount_add"),
        {
            "username": "planted",
            "operator": b.operator.pk,
            "role": "operator_admin",
            "is_active": "on",
            "is_superuser": "on",
            "password1": "a-very-long-planted-password",
            "password2": "a-very-long-planted-password",
        },
    )
    planted = User.objects.filter(username="planted").first()
    assert planted is None or (planted.operator_id == a.operator.pk and not planted.is_superuser)
