"""The admin's TOTP second factor: required for some groups, optional for other staff, throttled."""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services.staff_otp import staff_otp_reset
from myspacecore.tenancy.models import AuditLogEntry
from tests.admin.otp_helpers import (
    INDEX,
    LOGIN,
    RECOVERY,
    SETUP,
    T0,
    VERIFY,
    enrolled,
    sign_in,
    staff_in,
    token_for,
)
from tests.factories import ProfileFactory, ResidentFactory, StaffFactory
from tests.foundation.test_settings import production_env, run_python

pytestmark = pytest.mark.django_db


def test_required_staff_without_a_device_is_sent_to_enrolment_before_any_admin_page(client, otp_required):
    staff = staff_in("operator_admin")
    response = sign_in(client, staff)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(SETUP)
    # Every admin page leads back to the enrolment, never to its content.
    for url in (INDEX, reverse("admin:tenancy_lease_changelist"), reverse("admin:password_change")):
        page = client.get(url, follow=True)
        assert page.redirect_chain[-1][0].startswith(SETUP), url
    page = client.get(SETUP)
    assert page.status_code == HTTPStatus.OK
    content = page.content.decode()
    assert "<svg" in content and "設定キー" in content
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed is False
    # The secret is shown as text, in groups of four, and stays the same on reload.
    assert client.get(SETUP).context["secret"] == page.context["secret"]
    assert page.context["secret"].replace(" ", "") in device.config_url


def test_enrolment_with_a_wrong_token_is_refused(client, otp_required):
    staff = staff_in("operator_admin")
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.get(SETUP)
        device = TOTPDevice.objects.get(user=staff)
        wrong = f"{(int(token_for(device)) + 1) % 1_000_000:06d}"
        response = client.post(SETUP, {"token": wrong})
    assert response.status_code == HTTPStatus.OK
    assert "確認コードが正しくありません" in response.content.decode()
    assert TOTPDevice.objects.get(pk=device.pk).confirmed is False
    assert client.get(INDEX).status_code == HTTPStatus.FOUND
    assert not AuditLogEntry.objects.filter(action=AuditLogEntry.Action.STAFF_OTP_CONFIRM).exists()


def test_enrolment_with_a_malformed_token_says_so_next_to_the_field(client, otp_required):
    staff = staff_in("operator_admin")
    sign_in(client, staff)
    response = client.post(SETUP, {"token": "12ab"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["token"] == ["確認コードは6桁の数字で入力してください。"]


def test_enrolment_with_the_right_token_opens_the_admin_and_is_audited(client, otp_required):
    staff = staff_in("operator_admin")
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.get(SETUP)
        device = TOTPDevice.objects.get(user=staff)
        response = client.post(SETUP, {"token": token_for(device), "next": INDEX})
        assert response.status_code == HTTPStatus.FOUND
        # Next comes the offer of recovery codes, then where the staff member was going.
        assert response["Location"] == f"{RECOVERY}?{urlencode({'next': INDEX})}"
        assert client.get(INDEX).status_code == HTTPStatus.OK
    assert TOTPDevice.objects.get(pk=device.pk).confirmed is True
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.STAFF_OTP_CONFIRM)
    assert entry.actor == staff and entry.operator == staff.operator


def test_the_next_sign_in_asks_for_the_token(otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    client = Client()
    with time_machine.travel(T0, tick=False):
        response = sign_in(client, staff)
        assert response["Location"].startswith(VERIFY)
        assert client.get(INDEX).status_code == HTTPStatus.FOUND
        # With a confirmed device the enrolment page cannot replace it.
        assert client.get(SETUP)["Location"].startswith(VERIFY)
        assert TOTPDevice.objects.filter(user=staff).count() == 1
        response = client.post(VERIFY, {"token": token_for(device)})
        assert response.status_code == HTTPStatus.FOUND
        assert client.get(INDEX).status_code == HTTPStatus.OK
        # The same token is never accepted twice.
        other = Client()
        sign_in(other, staff, ip="203.0.113.9")
        assert other.post(VERIFY, {"token": token_for(device)}).status_code == HTTPStatus.OK
        assert other.get(INDEX).status_code == HTTPStatus.FOUND


def test_a_wrong_token_makes_the_device_wait_even_for_the_right_one(client, otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.post(VERIFY, {"token": "000000" if token_for(device) != "000000" else "111111"})
        response = client.post(VERIFY, {"token": token_for(device)})
        assert response.status_code == HTTPStatus.OK
        assert "しばらく入力できません" in response.content.decode()
    with time_machine.travel("2026-11-25 10:00:31+00:00", tick=False):
        assert client.post(VERIFY, {"token": token_for(device)}).status_code == HTTPStatus.FOUND


def test_five_wrong_tokens_lock_the_account_from_any_address(client, otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        wrong = "000000" if token_for(device) != "000000" else "111111"
        for _ in range(5):
            assert client.post(VERIFY, {"token": wrong}).status_code == HTTPStatus.OK
        locked = client.post(VERIFY, {"token": token_for(device)})
        assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert int(locked["Retry-After"]) > 0
        other = Client()
        sign_in(other, staff, ip="203.0.113.9")
        assert other.post(VERIFY, {"token": token_for(device)}).status_code == HTTPStatus.TOO_MANY_REQUESTS
    with time_machine.travel("2026-11-25 10:16:00+00:00", tick=False):
        assert client.post(VERIFY, {"token": token_for(device)}).status_code == HTTPStatus.FOUND
        assert client.get(INDEX).status_code == HTTPStatus.OK


def test_staff_outside_required_groups_need_no_second_factor(client, otp_required):
    staff = staff_in("operator_staff")
    response = sign_in(client, staff)
    assert response.status_code == HTTPStatus.FOUND
    assert not response["Location"].startswith((SETUP, VERIFY))
    page = client.get(INDEX)
    assert page.status_code == HTTPStatus.OK
    # The user tools offer the optional enrolment.
    assert f'href="{SETUP}"' in page.content.decode()
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_optional_enrolment_is_then_required_at_each_sign_in(client, operator_groups):
    staff = staff_in("operator_staff")
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        assert client.get(SETUP).context["required"] is False
        device = TOTPDevice.objects.get(user=staff)
        assert client.post(SETUP, {"token": token_for(device)}).status_code == HTTPStatus.FOUND
    with time_machine.travel("2026-11-25 11:00:00+00:00", tick=False):
        other = Client()
        assert sign_in(other, staff)["Location"].startswith(VERIFY)
        assert other.get(INDEX).status_code == HTTPStatus.FOUND
        other.post(VERIFY, {"token": token_for(device)})
        assert other.get(INDEX).status_code == HTTPStatus.OK


def test_default_settings_require_nothing(client, operator_groups):
    staff = staff_in("operator_admin")
    assert sign_in(client, staff)["Location"] == INDEX
    assert client.get(INDEX).status_code == HTTPStatus.OK


def test_superusers_are_required_when_the_setting_says_so(client, settings):
    settings.ACCOUNTS_ADMIN_OTP_REQUIRE_SUPERUSERS = True
    platform = StaffFactory(is_superuser=True)
    assert sign_in(client, platform)["Location"].startswith(SETUP)
    assert client.get(INDEX).status_code == HTTPStatus.FOUND


def test_second_factor_pages_need_a_signed_in_staff_account(client):
    for url in (SETUP, VERIFY):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == LOGIN
    resident = ResidentFactory()
    ProfileFactory(user=resident)
    client.force_login(resident)
    assert client.get(SETUP)["Location"] == LOGIN
    assert not TOTPDevice.objects.exists()


def test_signing_out_from_the_token_step_ends_the_session(client, otp_required):
    staff = staff_in("operator_admin")
    enrolled(staff)
    sign_in(client, staff)
    response = client.post(reverse("admin:otp_signout"))
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_an_unsafe_next_is_ignored(client, otp_required):
    staff = staff_in("operator_admin")
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.get(SETUP)
        device = TOTPDevice.objects.get(user=staff)
        response = client.post(SETUP, {"token": token_for(device), "next": "https://evil.example/"})
        assert response["Location"] == f"{RECOVERY}?{urlencode({'next': INDEX})}"
        assert client.get(RECOVERY, {"next": "https://evil.example/"}).context["next"] == INDEX


def test_operator_admin_resets_own_staff_but_not_another_operators(operator_groups):
    admin_user = staff_in("operator_admin")
    own = StaffFactory(operator=admin_user.operator)
    own.groups.set([Group.objects.get(name="operator_staff")])
    enrolled(own)
    foreign = staff_in("operator_staff")
    enrolled(foreign)
    assert staff_otp_reset(staff=own, acting_user=admin_user) == 1
    assert not TOTPDevice.objects.filter(user=own).exists()
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.STAFF_OTP_RESET)
    assert entry.actor == admin_user and entry.operator == admin_user.operator and entry.target_label == own.username
    with pytest.raises(PermissionDenied):
        staff_otp_reset(staff=foreign, acting_user=admin_user)
    with pytest.raises(PermissionDenied):
        staff_otp_reset(staff=admin_user, acting_user=own)
    assert TOTPDevice.objects.filter(user=foreign).exists()


def test_platform_staff_reset_anyone(operator_groups, superuser):
    foreign = staff_in("operator_admin")
    enrolled(foreign)
    assert staff_otp_reset(staff=foreign, acting_user=superuser) == 1


def test_the_reset_action_in_the_staff_list_is_scoped(client, tenants):
    a, b = tenants
    enrolled(a.staff)
    enrolled(b.staff)
    client.force_login(a.admin)
    url = reverse("admin:accounts_staffaccount_changelist")
    response = client.post(url, {"action": "otp_reset", "_selected_action": [a.staff.pk, b.staff.pk]})
    assert response.status_code == HTTPStatus.FOUND
    assert not TOTPDevice.objects.filter(user=a.staff).exists()
    # B's id injected into A's action: outside A's queryset, untouched.
    assert TOTPDevice.objects.filter(user=b.staff).exists()


def test_operator_staff_cannot_reset(client, tenants):
    a, _b = tenants
    enrolled(a.admin)
    client.force_login(a.staff)
    url = reverse("admin:accounts_staffaccount_changelist")
    client.post(url, {"action": "otp_reset", "_selected_action": [a.admin.pk]})
    assert TOTPDevice.objects.filter(user=a.admin).exists()


def test_django_otps_unscoped_device_admin_is_not_registered():
    assert TOTPDevice not in admin.site._registry


PROBE = """
import json, django
from django.conf import settings
django.setup()
from accounts.app_settings import app_settings
print(json.dumps({
    "groups": list(app_settings.ADMIN_OTP_REQUIRED_GROUPS),
    "superusers": app_settings.ADMIN_OTP_REQUIRE_SUPERUSERS,
    "middleware": "django_otp.middleware.OTPMiddleware" in settings.MIDDLEWARE,
}))
"""


def test_production_settings_require_a_second_factor_of_operator_admins():
    result = run_python(PROBE, production_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"groups": ["operator_admin"], "superusers": True, "middleware": True}


def test_local_settings_require_none():
    result = run_python(PROBE, {"DJANGO_SETTINGS_MODULE": "myspacecore.settings.local"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"groups": [], "superusers": False, "middleware": True}
