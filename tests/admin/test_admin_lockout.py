"""Failed admin passwords never lock the real staff member out for good: the lock is per address
first, the staff member's own browser outlasts credential stuffing from many addresses, they are
e-mailed once per lock, and their operator admin unlocks them from the staff page."""

from __future__ import annotations

import datetime
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.services.staff_signin import staff_signin_unlock
from myspacecore.console.site import device_cookie_name
from myspacecore.tenancy.models import AuditLogEntry

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
STAFF_LIST = reverse("admin:accounts_staffaccount_changelist")
PASSWORD = "a-long-staff-password"
T0 = "2026-11-25 10:00:00+00:00"
HOME_IP = "198.51.100.1"


def attempt(client: Client, username: str, password: str, ip: str = HOME_IP):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def stuff(username: str, *, addresses: int = 10) -> None:
    """Credential stuffing: one wrong password from each of many addresses, each a fresh browser."""
    for n in range(addresses):
        attempt(Client(), username, "wrong", ip=f"203.0.113.{n + 1}")


def own_browser(username: str) -> Client:
    """The staff member's browser: it signed in once (and signed out), so it holds the device cookie."""
    browser = Client()
    assert attempt(browser, username, PASSWORD).status_code == HTTPStatus.FOUND
    assert device_cookie_name() in browser.cookies
    browser.post(reverse("admin:logout"))
    return browser


@pytest.fixture
def staff(tenants):
    a, _b = tenants
    a.staff.email = "a-staff@operator.example.jp"
    a.staff.save(update_fields=["email"])
    return a.staff


# The locks
# ------------------------------------------------------------------------------


def test_a_guesser_at_one_address_cannot_lock_the_staff_member_out_of_theirs(staff):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            attempt(Client(), staff.username, "wrong", ip="203.0.113.66")

        assert (
            attempt(Client(), staff.username, PASSWORD, ip="203.0.113.66").status_code == HTTPStatus.TOO_MANY_REQUESTS
        )
        assert attempt(Client(), staff.username, PASSWORD, ip=HOME_IP).status_code == HTTPStatus.FOUND


def test_credential_stuffing_from_many_addresses_waits_but_the_staff_members_browser_signs_in(staff):
    browser = own_browser(staff.username)
    with time_machine.travel(T0, tick=False):
        stuff(staff.username)

        # Any browser that never signed in as this staff member waits, even with the password...
        assert attempt(Client(), staff.username, PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
        # ...the staff member's own goes on.
        assert attempt(browser, staff.username, PASSWORD).status_code == HTTPStatus.FOUND


def test_a_device_cookie_of_another_username_or_a_forged_one_trusts_nothing(staff, tenants):
    a, _b = tenants
    browser = own_browser(a.admin.username)
    forged = Client()
    forged.cookies[device_cookie_name()] = staff.username
    with time_machine.travel(T0, tick=False):
        stuff(staff.username)

        assert attempt(browser, staff.username, PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert attempt(forged, staff.username, PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_wrong_passwords_from_the_staff_members_browser_still_lock_it(staff):
    browser = own_browser(staff.username)
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            attempt(browser, staff.username, "wrong")

        assert attempt(browser, staff.username, PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


# The notice
# ------------------------------------------------------------------------------


def test_the_staff_member_is_emailed_once_per_lock_not_per_attempt(staff, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        for _ in range(4):
            attempt(Client(), staff.username, "wrong", ip="203.0.113.66")
        assert mail.outbox == []
        attempt(Client(), staff.username, "wrong", ip="203.0.113.66")  # the fifth: the lock
        retry_after = int(attempt(Client(), staff.username, PASSWORD, ip="203.0.113.66")["Retry-After"])
        # More failures, and locks at other addresses, in the same window: no more e-mail.
        stuff(staff.username, addresses=12)

    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == ["a-staff@operator.example.jp"]
    assert notice.subject == "SpaceCore 管理画面へのサインインを制限しています"
    # The end of the lock, in Japan's time (the window's end: django-ratelimit's windows are fixed).
    until = datetime.datetime(2026, 11, 25, 19, 0, tzinfo=ZoneInfo("Asia/Tokyo")) + datetime.timedelta(
        seconds=retry_after
    )
    assert f"「{staff.username}」" in notice.body and f"{until:%Y-%m-%d %H:%M} まで" in notice.body
    assert "サインインの制限を解除" in notice.body and PASSWORD not in notice.body

    with time_machine.travel("2026-11-25 10:31:00+00:00", tick=False), django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            attempt(Client(), staff.username, "wrong", ip="203.0.113.66")
    assert len(mail.outbox) == 2


def test_no_notice_for_a_username_nobody_has_or_a_staff_member_without_an_address(
    tenants, django_capture_on_commit_callbacks
):
    a, _b = tenants
    assert a.admin.email == ""
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        for username in ("nobody-at-all", a.admin.username):
            for _ in range(5):
                attempt(Client(), username, "wrong")

    assert mail.outbox == []


# The unlock
# ------------------------------------------------------------------------------


def unlock_from_console(client: Client, *staff_ids: int):
    return client.post(STAFF_LIST, {"action": "signin_unlock", "_selected_action": [str(pk) for pk in staff_ids]})


def test_the_operator_admin_unlocks_a_staff_member_at_once_with_one_audit_row(
    client, staff, tenants, django_capture_on_commit_callbacks
):
    a, _b = tenants
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            attempt(Client(), staff.username, "wrong")
        stuff(staff.username)
        assert attempt(Client(), staff.username, PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
        client.force_login(a.admin)
        before = AuditLogEntry.objects.count()

        with django_capture_on_commit_callbacks(execute=True):
            response = unlock_from_console(client, staff.pk)

        assert response.status_code == HTTPStatus.FOUND
        entry = AuditLogEntry.objects.get(pk__gt=AuditLogEntry.objects.order_by("pk")[before - 1].pk)
        assert (entry.operator, entry.actor, entry.target_label) == (a.operator, a.admin, staff.username)
        assert entry.new_value == "sign-in unlocked"
        # From the address it was locked at, and from a browser it never used.
        assert attempt(Client(), staff.username, PASSWORD).status_code == HTTPStatus.FOUND


def test_the_unlock_leaves_an_address_that_tried_many_usernames_waiting(
    staff, tenants, settings, django_capture_on_commit_callbacks
):
    a, _b = tenants
    settings.ACCOUNTS_RATE_LIMITS = {"admin_login_ip": "3/15m"}
    with time_machine.travel(T0, tick=False):
        for name in ("u1", "u2", "u3"):
            attempt(Client(), name, "wrong", ip="203.0.113.66")
        with django_capture_on_commit_callbacks(execute=True):
            staff_signin_unlock(staff=staff, acting_user=a.admin)

        assert (
            attempt(Client(), staff.username, PASSWORD, ip="203.0.113.66").status_code == HTTPStatus.TOO_MANY_REQUESTS
        )
        assert attempt(Client(), staff.username, PASSWORD).status_code == HTTPStatus.FOUND


def test_an_operator_admin_cannot_unlock_another_operators_staff(client, tenants):
    a, b = tenants
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            attempt(Client(), b.staff.username, "wrong")
        client.force_login(a.admin)
        before = AuditLogEntry.objects.count()

        unlock_from_console(client, b.staff.pk)
        with pytest.raises(PermissionDenied):
            staff_signin_unlock(staff=b.staff, acting_user=a.admin)

        assert AuditLogEntry.objects.count() == before
        assert attempt(Client(), b.staff.username, PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_operator_staff_cannot_unlock_even_their_colleagues(tenants):
    a, _b = tenants
    with pytest.raises(PermissionDenied):
        staff_signin_unlock(staff=a.admin, acting_user=a.staff)


def test_platform_staff_unlock_anyone(tenants, superuser, django_capture_on_commit_callbacks):
    _a, b = tenants
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            attempt(Client(), b.staff.username, "wrong")
        with django_capture_on_commit_callbacks(execute=True):
            staff_signin_unlock(staff=b.staff, acting_user=superuser)

        assert attempt(Client(), b.staff.username, PASSWORD).status_code == HTTPStatus.FOUND


# The address the notices go to
# ------------------------------------------------------------------------------


def test_the_operator_admin_sets_a_staff_members_address_with_a_masked_audit_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    change = reverse("admin:accounts_staffaccount_change", args=[a.staff.pk])

    response = client.post(change, {"email": "new@operator.example.jp", "role": "operator_staff", "is_active": "on"})

    assert response.status_code == HTTPStatus.FOUND
    a.staff.refresh_from_db()
    assert a.staff.email == "new@operator.example.jp"
    entry = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.STAFF_UPDATE).latest("pk")
    assert entry.old_value.endswith("email=-") and entry.new_value.endswith("email=n***@operator.example.jp")


def test_a_malformed_address_is_an_error_next_to_the_field(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    change = reverse("admin:accounts_staffaccount_change", args=[a.staff.pk])

    response = client.post(change, {"email": "not an address", "role": "operator_staff", "is_active": "on"})

    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors["email"]
    a.staff.refresh_from_db()
    assert a.staff.email == ""
