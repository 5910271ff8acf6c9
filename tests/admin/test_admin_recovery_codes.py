"""Recovery codes of the admin's second factor (django-otp static tokens): issued by the staff
member, shown once, single use, replaced as a set, removed by a reset, throttled like tokens."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services.staff_otp import (
    RECOVERY_CODE_COUNT,
    staff_otp_reset,
    staff_otp_token_normalise,
    staff_recovery_codes_generate,
)
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

pytestmark = pytest.mark.django_db

STAFF_CHANGELIST = reverse("admin:accounts_staffaccount_changelist")


def verified_client(staff, device) -> Client:
    """A session that passed the second factor with `device`."""
    client = Client()
    client.force_login(staff)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def stored_codes(staff) -> set[str]:
    return set(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True))


def a_wrong_code(staff) -> str:
    return next(code for code in ("aaaaaaaa", "bbbbbbbb", "cccccccc") if code not in stored_codes(staff))


def assert_no_code_in_audit(codes) -> None:
    raw = {code.replace("-", "") for code in codes}
    for entry in AuditLogEntry.objects.all():
        text = " ".join([entry.actor_label, entry.target_label, entry.old_value, entry.new_value]).lower()
        assert not any(code in text for code in raw), entry


# Issuing
# ------------------------------------------------------------------------------


def test_enrolment_offers_recovery_codes_shown_once(client, otp_required):
    staff = staff_in("operator_admin")
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.get(SETUP)
        device = TOTPDevice.objects.get(user=staff)
        response = client.post(SETUP, {"token": token_for(device), "next": INDEX})
        assert response["Location"] == f"{RECOVERY}?{urlencode({'next': INDEX})}"
        offer = client.get(response["Location"])
        assert offer.status_code == HTTPStatus.OK
        assert "リカバリーコードはまだ発行されていません。" in offer.content.decode()
        issued = client.post(RECOVERY, {"next": INDEX})
    assert issued.status_code == HTTPStatus.OK
    codes = issued.context["codes"]
    assert len(codes) == RECOVERY_CODE_COUNT == 10
    assert {code.replace("-", "") for code in codes} == stored_codes(staff)
    content = issued.content.decode()
    assert all(code in content for code in codes)
    assert "この画面でしか表示されません" in content
    assert f'href="{INDEX}"' in content
    assert issued["Cache-Control"].startswith("max-age=0")
    # Shown once: the page never shows them again, only how many are left.
    again = client.get(RECOVERY)
    assert again.context["codes"] == []
    assert again.context["remaining"] == 10
    assert not any(code in again.content.decode() for code in codes)
    assert "残り 10 件" in again.content.decode()
    entry = AuditLogEntry.objects.get(new_value__startswith="recovery codes")
    assert entry.actor == staff and entry.operator == staff.operator and entry.target_label == staff.username
    assert entry.action == AuditLogEntry.Action.STAFF_RECOVERY_CODES_ISSUE
    assert_no_code_in_audit(codes)


def test_generating_again_replaces_the_old_set_and_is_audited(otp_required):
    staff = staff_in("operator_admin")
    client = verified_client(staff, enrolled(staff))
    first = client.post(RECOVERY).context["codes"]
    second = client.post(RECOVERY).context["codes"]
    assert second and not set(first) & set(second)
    assert second != first
    assert stored_codes(staff) == {code.replace("-", "") for code in second}
    assert StaticDevice.objects.filter(user=staff).count() == 1
    assert "以前に発行したリカバリーコードは使えなくなりました。" in client.post(RECOVERY).content.decode()
    entries = AuditLogEntry.objects.filter(new_value__startswith="recovery codes").order_by("pk")
    assert [e.old_value for e in entries] == ["", "recovery codes: 10 unused", "recovery codes: 10 unused"]
    assert_no_code_in_audit(first + second)
    # An old code no longer passes the sign-in step.
    other = Client()
    sign_in(other, staff, ip="203.0.113.9")
    refused = other.post(VERIFY, {"token": first[0]})
    assert refused.status_code == HTTPStatus.OK
    assert "リカバリーコードが正しくないか、すでに使用済みです。" in refused.content.decode()
    assert other.get(INDEX).status_code == HTTPStatus.FOUND


def test_a_session_signed_in_with_a_recovery_code_survives_issuing_new_ones(otp_required):
    staff = staff_in("operator_admin")
    enrolled(staff)
    codes = staff_recovery_codes_generate(staff=staff)
    client = Client()
    sign_in(client, staff)
    assert client.post(VERIFY, {"token": codes[0]}).status_code == HTTPStatus.FOUND
    assert client.post(RECOVERY).status_code == HTTPStatus.OK
    # The same StaticDevice keeps the session's second factor; only its codes changed.
    assert client.get(INDEX).status_code == HTTPStatus.OK


def test_issuing_needs_a_session_that_passed_the_second_factor(client, otp_required):
    assert client.get(RECOVERY)["Location"] == LOGIN
    staff = staff_in("operator_admin")
    enrolled(staff)
    sign_in(client, staff)
    # Password only: the token step first, then back here.
    response = client.post(RECOVERY)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"{VERIFY}?{urlencode({'next': RECOVERY})}"
    assert not StaticDevice.objects.exists()


def test_staff_without_an_authenticator_is_sent_to_set_one_up_first(client, operator_groups):
    staff = staff_in("operator_staff")
    client.force_login(staff)
    response = client.post(RECOVERY)
    assert response["Location"].startswith(SETUP)
    assert not StaticDevice.objects.exists()
    with pytest.raises(ValidationError):
        staff_recovery_codes_generate(staff=staff)


def test_inactive_or_non_staff_accounts_cannot_be_issued_codes(operator_groups):
    staff = staff_in("operator_admin")
    enrolled(staff)
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        staff_recovery_codes_generate(staff=staff)
    assert not StaticDevice.objects.exists()


def test_the_user_tools_link_to_the_recovery_codes_once_verified(otp_required):
    staff = staff_in("operator_admin")
    client = verified_client(staff, enrolled(staff))
    assert f'href="{RECOVERY}"' in client.get(INDEX).content.decode()


# Signing in with a recovery code
# ------------------------------------------------------------------------------


def test_a_recovery_code_passes_the_sign_in_step_exactly_once(otp_required):
    staff = staff_in("operator_admin")
    enrolled(staff)
    codes = staff_recovery_codes_generate(staff=staff)
    client = Client()
    sign_in(client, staff)
    # As shown on the page (abcd-efgh), typed in capitals: accepted.
    shown = f"{codes[0][:4]}-{codes[0][4:]}".upper()
    response = client.post(VERIFY, {"token": shown})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == INDEX
    page = client.get(INDEX, follow=True)
    assert page.status_code == HTTPStatus.OK
    assert "残り 9 件" in page.content.decode()
    assert codes[0] not in stored_codes(staff)
    assert len(stored_codes(staff)) == 9
    # Used: refused in the next sign-in, from anywhere.
    other = Client()
    sign_in(other, staff, ip="203.0.113.9")
    refused = other.post(VERIFY, {"token": codes[0]})
    assert refused.status_code == HTTPStatus.OK
    assert "すでに使用済み" in refused.content.decode()
    assert other.get(INDEX).status_code == HTTPStatus.FOUND
    # The remaining count is shown to the staff member.
    assert client.get(RECOVERY).context["remaining"] == 9


def test_a_full_width_recovery_code_is_accepted(otp_required):
    staff = staff_in("operator_admin")
    enrolled(staff)
    code = staff_recovery_codes_generate(staff=staff)[0]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code.upper())
    client = Client()
    sign_in(client, staff)
    assert client.post(VERIFY, {"token": full_width}).status_code == HTTPStatus.FOUND
    assert client.get(INDEX).status_code == HTTPStatus.OK


@pytest.mark.parametrize("typed", ["12ab", "abcdefg", "abcdefghi", "abcd1fgh", "١٢٣٤٥٦"])
def test_a_malformed_code_says_so_next_to_the_field(client, otp_required, typed):
    staff = staff_in("operator_admin")
    enrolled(staff)
    staff_recovery_codes_generate(staff=staff)
    sign_in(client, staff)
    response = client.post(VERIFY, {"token": typed})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["token"] == [
        "確認コードは6桁の数字、リカバリーコードは英数字8文字で入力してください。"
    ]
    assert len(stored_codes(staff)) == RECOVERY_CODE_COUNT


def test_normalising_tells_authenticator_tokens_from_recovery_codes():
    assert staff_otp_token_normalise(" １２３ ４５６ ") == "123456"
    assert staff_otp_token_normalise("ABCD-EFGH") == "abcdefgh"
    assert staff_otp_token_normalise("abcd ー efgh") == "abcdefgh"
    for wrong in ("12345", "1234567", "abcd1fgh", "abcdefg", None, 123456, "a" * 100):
        assert staff_otp_token_normalise(wrong) is None


def test_the_authenticator_still_works_and_never_counts_against_the_recovery_codes(otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    staff_recovery_codes_generate(staff=staff)
    client = Client()
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        assert client.post(VERIFY, {"token": token_for(device)}).status_code == HTTPStatus.FOUND
    recovery = StaticDevice.objects.get(user=staff)
    # Unlike django_otp.match_token, the token was only ever tried on the authenticator.
    assert recovery.throttling_failure_count == 0
    assert len(stored_codes(staff)) == RECOVERY_CODE_COUNT


def test_a_recovery_code_is_refused_when_none_were_issued(client, otp_required):
    staff = staff_in("operator_admin")
    enrolled(staff)
    sign_in(client, staff)
    response = client.post(VERIFY, {"token": "abcdefgh"})
    assert response.status_code == HTTPStatus.OK
    assert "リカバリーコードが正しくないか、すでに使用済みです。" in response.content.decode()


# Throttling
# ------------------------------------------------------------------------------


def test_a_wrong_recovery_code_makes_the_recovery_codes_wait_even_for_a_right_one(client, otp_required):
    staff = staff_in("operator_admin")
    enrolled(staff)
    codes = staff_recovery_codes_generate(staff=staff)
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.post(VERIFY, {"token": a_wrong_code(staff)})
        response = client.post(VERIFY, {"token": codes[0]})
        assert response.status_code == HTTPStatus.OK
        assert "しばらく入力できません" in response.content.decode()
        # Refused while throttled: the code is not consumed.
        assert codes[0] in stored_codes(staff)
    with time_machine.travel("2026-11-25 10:00:31+00:00", tick=False):
        assert client.post(VERIFY, {"token": codes[0]}).status_code == HTTPStatus.FOUND


def test_five_wrong_recovery_codes_lock_the_account_from_any_address(client, otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    codes = staff_recovery_codes_generate(staff=staff)
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        for _ in range(5):
            assert client.post(VERIFY, {"token": a_wrong_code(staff)}).status_code == HTTPStatus.OK
        locked = client.post(VERIFY, {"token": codes[0]})
        assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert int(locked["Retry-After"]) > 0
        # The same account limit holds the authenticator too, and from another address.
        other = Client()
        sign_in(other, staff, ip="203.0.113.9")
        assert other.post(VERIFY, {"token": token_for(device)}).status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert other.post(VERIFY, {"token": codes[1]}).status_code == HTTPStatus.TOO_MANY_REQUESTS
    # Nothing was consumed while locked.
    assert len(stored_codes(staff)) == RECOVERY_CODE_COUNT
    with time_machine.travel("2026-11-25 10:16:00+00:00", tick=False):
        assert client.post(VERIFY, {"token": codes[0]}).status_code == HTTPStatus.FOUND
        assert client.get(INDEX).status_code == HTTPStatus.OK


def test_wrong_authenticator_tokens_and_recovery_codes_share_the_account_limit(client, otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    codes = staff_recovery_codes_generate(staff=staff)
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        wrong_token = "000000" if token_for(device) != "000000" else "111111"
        for token in (wrong_token, a_wrong_code(staff)) * 2 + (wrong_token,):
            client.post(VERIFY, {"token": token})
        assert client.post(VERIFY, {"token": codes[0]}).status_code == HTTPStatus.TOO_MANY_REQUESTS


# Reset and scoping
# ------------------------------------------------------------------------------


def test_resetting_the_second_factor_removes_the_recovery_codes(otp_required):
    admin_user = staff_in("operator_admin")
    own = staff_in("operator_admin", operator=admin_user.operator)
    enrolled(own)
    codes = staff_recovery_codes_generate(staff=own)
    assert staff_otp_reset(staff=own, acting_user=admin_user) == 2
    assert not StaticDevice.objects.filter(user=own).exists()
    assert not StaticToken.objects.exists()
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.STAFF_OTP_RESET)
    assert entry.old_value == "TOTP, recovery codes: 10 unused"
    assert_no_code_in_audit(codes)
    # An old code opens nothing: the next sign-in enrols again.
    client = Client()
    sign_in(client, own)
    response = client.post(VERIFY, {"token": codes[0]})
    assert response["Location"].startswith(SETUP)
    assert client.get(INDEX).status_code == HTTPStatus.FOUND


def test_the_reset_action_removes_recovery_codes_of_own_staff_only(client, tenants):
    a, b = tenants
    for staff in (a.staff, b.staff):
        enrolled(staff)
        staff_recovery_codes_generate(staff=staff)
    client.force_login(a.admin)
    response = client.post(STAFF_CHANGELIST, {"action": "otp_reset", "_selected_action": [a.staff.pk, b.staff.pk]})
    assert response.status_code == HTTPStatus.FOUND
    assert not StaticDevice.objects.filter(user=a.staff).exists()
    # B's id injected into A's action: outside A's queryset, untouched.
    assert len(stored_codes(b.staff)) == RECOVERY_CODE_COUNT


def test_another_operators_admin_cannot_reset_recovery_codes(tenants):
    a, b = tenants
    enrolled(b.staff)
    staff_recovery_codes_generate(staff=b.staff)
    with pytest.raises(PermissionDenied):
        staff_otp_reset(staff=b.staff, acting_user=a.admin)
    assert len(stored_codes(b.staff)) == RECOVERY_CODE_COUNT
    assert not AuditLogEntry.objects.filter(action=AuditLogEntry.Action.STAFF_OTP_RESET).exists()


def test_operator_staff_cannot_reset_their_admins_recovery_codes(client, tenants):
    a, _b = tenants
    enrolled(a.admin)
    staff_recovery_codes_generate(staff=a.admin)
    client.force_login(a.staff)
    client.post(STAFF_CHANGELIST, {"action": "otp_reset", "_selected_action": [a.admin.pk]})
    assert len(stored_codes(a.admin)) == RECOVERY_CODE_COUNT


def test_the_recovery_codes_page_shows_only_ones_own_codes(tenants):
    a, b = tenants
    enrolled(b.staff)
    staff_recovery_codes_generate(staff=b.staff)
    client = verified_client(a.admin, enrolled(a.admin))
    page = client.get(RECOVERY)
    assert page.status_code == HTTPStatus.OK
    assert page.context["remaining"] is None
    assert "リカバリーコードはまだ発行されていません。" in page.content.decode()
    # Issuing from A's session touches A's codes only.
    client.post(RECOVERY)
    assert len(stored_codes(a.admin)) == RECOVERY_CODE_COUNT
    assert len(stored_codes(b.staff)) == RECOVERY_CODE_COUNT
    assert not (stored_codes(a.admin) & stored_codes(b.staff))


def test_django_otps_unscoped_recovery_code_admin_is_not_registered(superuser):
    # Its changelist would show every tenant's codes in clear.
    assert StaticDevice not in admin.site._registry
    assert StaticToken not in admin.site._registry
    client = Client()
    client.force_login(superuser)
    assert client.get("/admin/otp_static/staticdevice/").status_code == HTTPStatus.NOT_FOUND
