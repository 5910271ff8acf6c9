"""Residents' requests in the console: phone change, ending sessions, move-out — each with its audit row."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.models import User
from accounts.sms import outbox
from myspacecore.tenancy.models import AuditLogEntry
from smarthome.models import PinCode, RemoteControlSetting
from tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def phone_url(resident: User) -> str:
    return reverse("admin:accounts_residentaccount_phone", args=[resident.pk])


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_operator_changes_a_residents_phone_with_a_masked_audit_row(
    client, tenants, django_capture_on_commit_callbacks, role
):
    a, _b = tenants
    actor = a.admin if role == "admin" else a.staff
    resident = a.resident
    old_phone = resident.phone_number.as_e164
    old_token = resident.session_token
    client.force_login(actor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(phone_url(resident), {"phone_number": "090-8765-4321", "confirm": "on"})
    assert response.status_code == HTTPStatus.FOUND
    resident.refresh_from_db()
    assert resident.phone_number.as_e164 == "+819087654321"
    # Every session of the resident ended; the roster entry follows the number.
    assert resident.session_token != old_token
    lease = a.objects["tenancy.Lease"]
    lease.refresh_from_db()
    assert lease.phone_number == "+819087654321"
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.PHONE_CHANGE)
    assert entry.actor == actor and entry.operator == a.operator
    assert entry.old_value == "+81******" + old_phone[-4:]
    assert entry.new_value == "+81******4321"
    assert old_phone not in (entry.old_value + entry.new_value + entry.target_label)
    assert "+819087654321" not in (entry.old_value + entry.new_value + entry.target_label)
    # The old number is told, through the same notice as the resident's own change.
    assert [message.to for message in outbox] == [old_phone]


def test_phone_change_form_shows_errors_next_to_the_field_and_changes_nothing(client, tenants):
    a, _b = tenants
    taken = ResidentFactory()
    client.force_login(a.admin)
    before = a.resident.phone_number
    for data, expected in [
        ({"phone_number": "abc", "confirm": "on"}, "正しい電話番号を入力してください。"),
        ({"phone_number": str(taken.phone_number), "confirm": "on"}, "この電話番号は使用できません"),
        ({"phone_number": str(before), "confirm": "on"}, "現在の電話番号と同じです。"),
        ({"phone_number": "090-8765-4321"}, "ご本人からの依頼であることを確認してください。"),
    ]:
        response = client.post(phone_url(a.resident), data)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert expected in response.content.decode()
        assert data["phone_number"] in response.content.decode()
    a.resident.refresh_from_db()
    assert a.resident.phone_number == before
    assert not AuditLogEntry.objects.filter(action=AuditLogEntry.Action.PHONE_CHANGE).exists()


def test_phone_change_page_is_refused_without_the_change_permission(client, tenants):
    from django.contrib.auth.models import Permission

    from tests.factories import StaffFactory

    a, _b = tenants
    viewer = StaffFactory(operator=a.operator)
    viewer.user_permissions.add(Permission.objects.get(codename="view_residentaccount"))
    client.force_login(viewer)
    assert client.get(phone_url(a.resident)).status_code == HTTPStatus.FORBIDDEN


def test_resident_change_page_links_to_the_phone_change(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    response = client.get(reverse("admin:accounts_residentaccount_change", args=[a.resident.pk]))
    assert response.status_code == HTTPStatus.OK
    assert phone_url(a.resident) in response.content.decode()


def test_end_sessions_action_ends_every_session_with_an_audit_row(client, tenants):
    a, _b = tenants
    resident = a.resident
    old_token = resident.session_token
    client.force_login(a.staff)
    response = client.post(
        reverse("admin:accounts_residentaccount_changelist"),
        {"action": "end_sessions", ACTION_CHECKBOX_NAME: [resident.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    resident.refresh_from_db()
    assert resident.session_token != old_token
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.SESSIONS_END)
    assert entry.actor == a.staff and entry.operator == a.operator


def test_a_resident_signed_in_elsewhere_is_signed_out_by_end_sessions(client, tenants):
    from django.test import Client

    a, _b = tenants
    resident_client = Client()
    resident_client.force_login(a.resident)
    assert resident_client.get(reverse("accounts:mypage")).status_code == HTTPStatus.OK
    client.force_login(a.admin)
    client.post(
        reverse("admin:accounts_residentaccount_changelist"),
        {"action": "end_sessions", ACTION_CHECKBOX_NAME: [a.resident.pk]},
    )
    assert resident_client.get(reverse("accounts:mypage")).status_code == HTTPStatus.FOUND


def test_move_out_asks_for_confirmation_then_purges_the_unit_with_an_audit_row(client, tenants):
    a, b = tenants
    unit = a.unit
    client.force_login(a.admin)
    changelist = reverse("admin:tenancy_unit_changelist")
    confirm = client.post(changelist, {"action": "move_out_now", ACTION_CHECKBOX_NAME: [unit.pk]})
    assert confirm.status_code == HTTPStatus.OK
    assert "退去リセットを実行する" in confirm.content.decode()
    assert RemoteControlSetting.objects.filter(device__unit=unit).exists()

    done = client.post(changelist, {"action": "move_out_now", ACTION_CHECKBOX_NAME: [unit.pk], "confirm": "yes"})
    assert done.status_code == HTTPStatus.FOUND
    assert not RemoteControlSetting.objects.filter(device__unit=unit).exists()
    assert not PinCode.objects.filter(device__unit=unit).exists()
    # The resident's own device is not the unit's: untouched; so is operator B.
    assert RemoteControlSetting.objects.filter(pk=a.owner_remote.pk).exists()
    assert RemoteControlSetting.objects.filter(device__unit=b.unit).exists()
    unit.refresh_from_db()
    assert unit.last_reset_at is not None
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.UNIT_RESET)
    assert entry.actor == a.admin and entry.operator == a.operator
    assert entry.new_value == "remote_settings=1 pin_codes=1"


def test_move_out_runs_for_one_unit_at_a_time(client, tenants):
    from tests.factories import UnitFactory
    from tests.smarthome.factories import RemoteControlSettingFactory, UnitDeviceFactory

    a, _b = tenants
    second = UnitFactory(property=a.objects["tenancy.Property"])
    RemoteControlSettingFactory(device=UnitDeviceFactory(unit=second))
    client.force_login(a.admin)
    client.post(
        reverse("admin:tenancy_unit_changelist"),
        {"action": "move_out_now", ACTION_CHECKBOX_NAME: [a.unit.pk, second.pk], "confirm": "yes"},
    )
    assert RemoteControlSetting.objects.filter(device__unit__in=[a.unit, second]).count() == 2


def test_operator_staff_cannot_move_out_or_read_the_audit_log(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    client.post(
        reverse("admin:tenancy_unit_changelist"),
        {"action": "move_out_now", ACTION_CHECKBOX_NAME: [a.unit.pk], "confirm": "yes"},
    )
    assert RemoteControlSetting.objects.filter(device__unit=a.unit).exists()
    assert client.get(reverse("admin:tenancy_auditlogentry_changelist")).status_code == HTTPStatus.FORBIDDEN


def test_audit_log_is_read_only_for_the_operator_admin(client, tenants):
    a, _b = tenants
    entry = a.objects["tenancy.AuditLogEntry"]
    client.force_login(a.admin)
    assert client.get(reverse("admin:tenancy_auditlogentry_changelist")).status_code == HTTPStatus.OK
    page = client.get(reverse("admin:tenancy_auditlogentry_change", args=[entry.pk]))
    assert page.status_code == HTTPStatus.OK
    assert 'name="target_label"' not in page.content.decode()
    client.post(reverse("admin:tenancy_auditlogentry_change", args=[entry.pk]), {"target_label": "x"})
    client.post(reverse("admin:tenancy_auditlogentry_delete", args=[entry.pk]), {"post": "yes"})
    entry.refresh_from_db()
    assert entry.target_label == "A-AUDIT"


def test_pins_are_masked_for_operator_staff(client, tenants):
    a, _b = tenants
    pin = a.objects["smarthome.PinCode"]
    client.force_login(a.staff)
    for target in (
        reverse("admin:smarthome_pincode_changelist"),
        reverse("admin:smarthome_pincode_change", args=[pin.pk]),
    ):
        content = client.get(target).content.decode()
        assert "••••" in content
        assert pin.pin_encrypted not in content and pin.pin_lookup not in content


def test_operator_admin_creates_a_staff_account_of_its_own_operator_only(client, tenants):
    a, b = tenants
    client.force_login(a.admin)
    response = client.post(
        reverse("admin:accounts_staffaccount_add"),
        {
            "username": "a-newcomer",
            "operator": b.operator.pk,
            "role": "operator_staff",
            "is_active": "on",
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    staff = User.objects.get(username="a-newcomer")
    assert staff.operator == a.operator and staff.is_staff and not staff.is_superuser
    assert list(staff.groups.values_list("name", flat=True)) == ["operator_staff"]
    assert AuditLogEntry.objects.filter(action=AuditLogEntry.Action.STAFF_CREATE, operator=a.operator).exists()


def test_operator_staff_cannot_manage_staff_accounts(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    assert client.get(reverse("admin:accounts_staffaccount_changelist")).status_code == HTTPStatus.FORBIDDEN
    assert client.get(reverse("admin:accounts_staffaccount_add")).status_code == HTTPStatus.FORBIDDEN


def test_operator_admin_changes_a_staff_role_with_an_audit_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    response = client.post(
        reverse("admin:accounts_staffaccount_change", args=[a.staff.pk]),
        {"role": "operator_admin", "is_active": ""},
    )
    assert response.status_code == HTTPStatus.FOUND
    a.staff.refresh_from_db()
    assert not a.staff.is_active
    assert list(a.staff.groups.values_list("name", flat=True)) == ["operator_admin"]
    entry = AuditLogEntry.objects.get(action=AuditLogEntry.Action.STAFF_UPDATE)
    assert entry.old_value == "operator_staff active=True" and entry.new_value == "operator_admin active=False"


def test_a_weak_staff_password_is_an_error_next_to_the_field(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    response = client.post(
        reverse("admin:accounts_staffaccount_add"),
        {"username": "a-weak", "role": "operator_staff", "password1": "12345678", "password2": "12345678"},
    )
    assert response.status_code == HTTPStatus.OK
    assert "password1" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="a-weak").exists()
