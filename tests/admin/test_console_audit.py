"""Every write through the operator console leaves exactly one audit row (issue 14).

Walks `admin.site._registry`: for every ModelAdmin, add, change and delete through the real
admin views, as an operator admin and as platform staff, each either refused (and no row)
or done with exactly one new row naming the acting staff, the operator and the target, with
masked values. A ModelAdmin registered without a row in SAMPLES, or an action or custom view
without a test here, fails the coverage tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.forms import CheckboxInput, MultiWidget
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ResidentAccount, StaffAccount, VerificationTarget
from myspacecore.core.masking import mask_phone, mask_text
from myspacecore.help.models import HelpFeedback
from myspacecore.tenancy.models import AuditLogEntry, Operator
from myspacecore.tenancy.services.audit import audit_log_record, console_object_save
from tests.admin.conftest import Tenant
from tests.admin.otp_helpers import PASSWORD, T0, enrolled, sign_in, staff_in, token_for
from tests.factories import LeaseFactory, OperatorFactory, PropertyFactory, UnitFactory, attribute
from tests.smarthome.factories import PinCodeFactory, RemoteControlSettingFactory, UnitDeviceFactory

pytestmark = pytest.mark.django_db

Action = AuditLogEntry.Action
OPS = ["add", "change", "delete"]
ACTORS = ["operator_admin", "platform"]


@dataclass
class Sample:
    """How to add, change and delete one model's rows through its admin pages.

    `add` is the POST of the add form (None: nobody may add); `change` the target and the
    fields to change on its current form values (None: nobody may change); `delete` makes a
    fresh row to delete (None: nobody may delete). `platform` rows belong to no operator;
    `expect` is what the new values must show (masked).
    """

    add: Callable[[Tenant], dict] | None = None
    change: Callable[[Tenant], tuple[Any, dict]] | None = None
    delete: Callable[[Tenant], Any] | None = None
    platform: bool = False
    expect: dict[str, str] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)


def _group_with_permission(name: str) -> Group:
    group = Group.objects.create(name=name)
    group.permissions.set([Permission.objects.get(codename="view_unit")])
    return group


SAMPLES: dict[str, Sample] = {
    "tenancy.Operator": Sample(
        add=lambda a: {"name": "C-OPERATOR", "contact_phone": "", "contact_email": "c-desk@example.jp"},
        change=lambda a: (a.operator, {"contact_email": "a-front@example.jp"}),
        delete=lambda a: OperatorFactory(name="D-OPERATOR"),
        expect={"add": "c***k@example.jp", "change": "a***t@example.jp"},
    ),
    "tenancy.Property": Sample(
        add=lambda a: {"operator": a.operator.pk, "name": "A-NEW-PROPERTY", "address": "東京都"},
        change=lambda a: (a.objects["tenancy.Property"], {"address": "大阪府"}),
        delete=lambda a: PropertyFactory(operator=a.operator, name="A-GONE"),
        expect={"add": "name=A-NEW-PROPERTY", "change": "address=大阪府"},
    ),
    "tenancy.Unit": Sample(
        add=lambda a: {"property": a.objects["tenancy.Property"].pk, "number": "A-902"},
        change=lambda a: (a.unit, {"number": "A-903"}),
        delete=lambda a: UnitFactory(property=a.objects["tenancy.Property"], number="A-GONE"),
        expect={"add": "number=A-902", "change": "number=A-903"},
    ),
    "tenancy.Lease": Sample(
        add=lambda a: {
            "unit": UnitFactory(property=a.objects["tenancy.Property"], number="A-EMPTY").pk,
            "phone_number": "090-5555-1234",
            "attribute": attribute("rental_resident").pk,
            "start_date": "2026-04-01",
            "end_date": "",
        },
        change=lambda a: (a.objects["tenancy.Lease"], {"end_date": "2031-03-31"}),
        delete=lambda a: LeaseFactory(unit=UnitFactory(property=a.objects["tenancy.Property"], number="A-OLD")),
        expect={"add": "phone_number=+81******1234", "change": "end_date=2031-03-31"},
    ),
    # Read-only fields only: saving the page is still a write, and leaves its row.
    "accounts.ResidentAccount": Sample(change=lambda a: (a.resident, {})),
    "accounts.StaffAccount": Sample(
        add=lambda a: {
            "username": "a-new-staff",
            "role": "operator_staff",
            "is_active": "on",
            "operator": a.operator.pk,
            "password1": "a-long-new-password-9",
            "password2": "a-long-new-password-9",
        },
        change=lambda a: (a.staff, {"role": "operator_admin"}),
        expect={"add": "operator_staff", "change": "operator_admin"},
        actions={"add": Action.STAFF_CREATE, "change": Action.STAFF_UPDATE},
    ),
    "tenancy.AuditLogEntry": Sample(),
    "smarthome.Device": Sample(
        add=lambda a: {"kind": "hub", "name": "A-NEWHUB", "serial_number": "A-SERIAL-NEW", "unit": a.unit.pk},
        change=lambda a: (a.objects["smarthome.Device"], {"name": "A-HUB-2"}),
        delete=lambda a: UnitDeviceFactory(unit=a.unit, serial_number="A-SERIAL-GONE"),
        expect={"add": "serial_number=A-SERIAL-NEW", "change": "name=A-HUB-2"},
    ),
    "smarthome.RemoteControlSetting": Sample(
        add=lambda a: {
            "device": a.objects["smarthome.Device"].pk,
            "name": "A-AC",
            "appliance_type": "air_conditioner",
            "maker": "",
            "signal_data": "preset:ac-02",
        },
        change=lambda a: (a.objects["smarthome.RemoteControlSetting"], {"maker": "シャープ"}),
        delete=lambda a: RemoteControlSettingFactory(device=a.objects["smarthome.Device"]),
        expect={"add": "name=A-AC", "change": "maker=シャープ"},
    ),
    "smarthome.PinCode": Sample(delete=lambda a: PinCodeFactory(device=a.lock, label="A-GONE-PIN")),
    "accounts.UserAttribute": Sample(
        add=lambda a: {"code": "corporate", "name": "法人契約", "name_en": "Corporate", "precedence": "5"},
        change=lambda a: (attribute("owner"), {"description": "自分で購入"}),
        platform=True,
        expect={"add": "code=corporate", "change": "description=自分で購入"},
    ),
    "accounts.VerificationCode": Sample(platform=True),
    "accounts.VerificationTarget": Sample(
        change=lambda a: (VerificationTarget.objects.create(target="+819011112222", consecutive_failures=3), {}),
        delete=lambda a: VerificationTarget.objects.create(target="gone@example.jp"),
        platform=True,
    ),
    "auth.Group": Sample(
        add=lambda a: {"name": "auditors", "permissions": [Permission.objects.get(codename="view_unit").pk]},
        change=lambda a: (_group_with_permission("readers"), {"name": "readers-2"}),
        delete=lambda a: _group_with_permission("leaving"),
        platform=True,
        expect={"add": "permissions=", "change": "name=readers-2"},
    ),
    "help.HelpFeedback": Sample(
        delete=lambda a: HelpFeedback.objects.create(topic="signin", helpful=False, comment="mail me: x@example.jp"),
        platform=True,
    ),
}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def registered() -> dict[str, tuple[type, admin.ModelAdmin]]:
    rows = {}
    for model, model_admin in admin.site._registry.items():
        try:
            admin_url(model, "changelist")
        except NoReverseMatch:
            continue  # registered after the URLconf was built (by another test): unreachable
        rows[model._meta.label] = (model, model_admin)
    return rows


def actor_for(kind: str, tenant: Tenant, superuser):
    return tenant.admin if kind == "operator_admin" else superuser


def allowed(model_admin, op: str, user, obj=None) -> bool:
    request = RequestFactory().get("/")
    request.user = user
    if op == "add":
        return model_admin.has_add_permission(request)
    if op == "change":
        return model_admin.has_change_permission(request, obj)
    return model_admin.has_delete_permission(request, obj)


def form_values(form) -> dict:
    """A bound admin form's current values as the browser would post them back."""
    data: dict[str, Any] = {}
    for name, form_field in form.fields.items():
        widget = form_field.widget
        if isinstance(widget, RelatedFieldWidgetWrapper):
            widget = widget.widget
        value = form[name].value()
        if isinstance(widget, MultiWidget):
            parts = widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=True):
                data[f"{name}{suffix}"] = "" if part is None else str(part)
        elif isinstance(widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else str(value)
    return data


def form_errors(response) -> object:
    """What the admin said when it did not save: the form's errors, else the status."""
    context = response.context or {}
    return context["adminform"].form.errors if "adminform" in context else response.status_code


def new_rows(before: int) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.order_by("pk")[before:])


def assert_masked(entry: AuditLogEntry) -> None:
    """Nothing in the row that a mask would still hide: no number, no address, in clear."""
    for text in (entry.target_label, entry.old_value, entry.new_value):
        assert mask_text(text) == text, text


def row_operator(label: str, op: str, kind: str, tenant: Tenant, obj) -> Operator | None:
    """Staff of an operator write into its log; platform staff into the log of the row's operator.

    The platform's own rows: platform models, a resident (who may live with several
    operators), and an operator itself when it is deleted.
    """
    if kind == "operator_admin":
        return tenant.operator
    if SAMPLES[label].platform or label == "accounts.ResidentAccount":
        return None
    if isinstance(obj, Operator):
        return None if op == "delete" else obj
    return tenant.operator


# Coverage: nothing registered or added later escapes the walk
# ------------------------------------------------------------------------------


def test_every_registered_model_admin_has_sample_writes():
    assert set(registered()) == set(SAMPLES), "add the new ModelAdmin to SAMPLES"


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_samples_match_what_the_admins_allow(tenants, superuser, label, op):
    """A sample for every write some actor may make, and none for a write nobody may make."""
    a, _b = tenants
    _model, model_admin = registered()[label]
    may = any(allowed(model_admin, op, actor_for(kind, a, superuser)) for kind in ACTORS)
    assert may == (getattr(SAMPLES[label], op) is not None), f"{label} {op}: allowed={may}"


# The walk
# ------------------------------------------------------------------------------


def _add(client, model, sample: Sample, a: Tenant):
    data = sample.add(a)
    return client.post(admin_url(model, "add"), {**data, "_save": "Save"}), None


def _change(client, model, sample: Sample, a: Tenant):
    obj, changes = sample.change(a)
    page = client.get(admin_url(model, "change", obj.pk))
    if page.status_code != HTTPStatus.OK or "adminform" not in page.context:
        return page, obj
    data = {**form_values(page.context["adminform"].form), **changes, "_save": "Save"}
    return client.post(admin_url(model, "change", obj.pk), data), obj


def _delete(client, model, sample: Sample, a: Tenant):
    obj = sample.delete(a)
    return client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}), obj


WRITES = {"add": _add, "change": _change, "delete": _delete}


def assert_refused(client, model, label: str, sample: Sample, op: str, a: Tenant) -> None:
    """The write posted anyway is refused (403, or 404 for a row out of sight) and changes nothing."""
    if op == "add":
        response = client.post(admin_url(model, "add"), {**(sample.add(a) if sample.add else {}), "_save": "Save"})
        assert response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)
        return
    if op == "change" and sample.change:
        obj = sample.change(a)[0]
    elif op == "delete" and sample.delete:
        obj = sample.delete(a)
    else:
        obj = a.objects.get(label) or model._default_manager.first()
    if obj is None:
        return  # no row of this model to try it on (verification codes: none in the fixture)
    data = {"post": "yes"} if op == "delete" else {"_save": "Save"}
    response = client.post(admin_url(model, op, obj.pk), data)
    assert response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)
    assert type(obj)._base_manager.filter(pk=obj.pk).exists()


DEFAULT_ACTIONS = {"add": Action.OBJECT_ADD, "change": Action.OBJECT_CHANGE, "delete": Action.OBJECT_DELETE}


@pytest.mark.parametrize("kind", ACTORS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_every_console_write_leaves_exactly_one_masked_audit_row(client, tenants, superuser, label, op, kind):
    a, _b = tenants
    model, model_admin = registered()[label]
    sample = SAMPLES[label]
    actor = actor_for(kind, a, superuser)
    client.force_login(actor)
    before = AuditLogEntry.objects.count()
    if getattr(sample, op) is None or not allowed(model_admin, op, actor):
        assert_refused(client, model, label, sample, op, a)
        assert new_rows(before) == []
        return
    response, obj = WRITES[op](client, model, sample, a)
    assert response.status_code == HTTPStatus.FOUND, form_errors(response)
    rows = new_rows(before)
    assert len(rows) == 1, [str(row) for row in rows]
    entry = rows[0]
    assert entry.action == sample.actions.get(op, DEFAULT_ACTIONS[op])
    assert entry.actor == actor and entry.actor_label == actor.username
    if op == "add":
        obj = model._default_manager.latest("pk")
    assert entry.operator == row_operator(label, op, kind, a, obj)
    assert entry.target_type == model._meta.concrete_model._meta.label_lower
    assert entry.target_id == str(obj.pk)
    assert entry.target_label
    assert_masked(entry)
    if op in sample.expect:
        assert sample.expect[op] in entry.new_value, entry.new_value


# What the rows say
# ------------------------------------------------------------------------------


def test_a_change_row_names_the_changed_fields_old_and_new(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    unit = a.unit
    page = client.get(admin_url(type(unit), "change", unit.pk))
    data = {**form_values(page.context["adminform"].form), "number": "A-777", "_save": "Save"}
    assert client.post(admin_url(type(unit), "change", unit.pk), data).status_code == HTTPStatus.FOUND
    entry = AuditLogEntry.objects.latest("pk")
    assert (entry.old_value, entry.new_value) == ("number=A-901", "number=A-777")


def test_a_lease_phone_change_is_masked_old_and_new(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    lease = a.objects["tenancy.Lease"]
    old = lease.phone_number.as_e164
    page = client.get(admin_url(type(lease), "change", lease.pk))
    data = {**form_values(page.context["adminform"].form), "phone_number": "090-4444-9876", "_save": "Save"}
    assert client.post(admin_url(type(lease), "change", lease.pk), data).status_code == HTTPStatus.FOUND
    entry = AuditLogEntry.objects.latest("pk")
    assert entry.old_value == f"phone_number=+81******{old[-4:]}"
    assert entry.new_value == "phone_number=+81******9876"
    assert old not in str(vars(entry)) and "+819044449876" not in str(vars(entry))


def test_a_deleted_pin_is_never_in_the_row_only_its_mask(client, tenants, superuser):
    a, _b = tenants
    pin = PinCodeFactory(device=a.lock, label="A-GONE-PIN")
    client.force_login(superuser)
    assert client.post(admin_url(type(pin), "delete", pin.pk), {"post": "yes"}).status_code == HTTPStatus.FOUND
    entry = AuditLogEntry.objects.latest("pk")
    assert "pin_encrypted=••••" in entry.old_value and "pin_lookup=••••" in entry.old_value
    assert pin.pin_encrypted not in entry.old_value and pin.pin_lookup not in entry.old_value
    assert entry.operator == a.operator and entry.target_id == str(pin.pk)


def test_a_deletion_row_counts_what_went_with_it(client, tenants, superuser):
    a, _b = tenants
    device = UnitDeviceFactory(unit=a.unit, serial_number="A-SERIAL-GONE")
    RemoteControlSettingFactory.create_batch(2, device=device)
    client.force_login(superuser)
    assert client.post(admin_url(type(device), "delete", device.pk), {"post": "yes"}).status_code == HTTPStatus.FOUND
    entry = AuditLogEntry.objects.latest("pk")
    assert entry.new_value == "smarthome.RemoteControlSetting=2"
    assert "serial_number=A-SERIAL-GONE" in entry.old_value


@pytest.mark.parametrize("op", ["change", "delete"])
def test_djangos_own_history_keeps_the_rows_name_masked(client, superuser, op):
    target = VerificationTarget.objects.create(target="+819011112222")
    client.force_login(superuser)
    url = admin_url(VerificationTarget, op, target.pk)
    data = {"post": "yes"} if op == "delete" else {"_save": "Save"}
    assert client.post(url, data).status_code == HTTPStatus.FOUND
    entry = LogEntry.objects.get(object_id=str(target.pk), content_type__model="verificationtarget")
    assert entry.object_repr == "+81******2222"


def test_a_refused_form_writes_nothing_and_no_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    response = client.post(admin_url(type(a.unit), "add"), {"property": "", "number": "", "_save": "Save"})
    assert response.status_code == HTTPStatus.OK and response.context["adminform"].form.errors
    assert AuditLogEntry.objects.count() == before


# Actions and custom views: one row each
# ------------------------------------------------------------------------------

# Every action a ModelAdmin offers and every URL it adds to Django's own, with the test below
# that proves its row (or, for a read, that it writes none).
COVERED_ACTIONS = {
    ("tenancy.Unit", "move_out_now"): "test_move_out_now_leaves_one_row",
    ("accounts.ResidentAccount", "end_sessions"): "test_ending_sessions_leaves_one_row_per_resident",
    ("accounts.StaffAccount", "otp_reset"): "test_totp_reset_leaves_one_row",
    ("accounts.StaffAccount", "signin_unlock"): "test_signin_unlock_leaves_one_row",
    ("accounts.VerificationTarget", "unlock"): "test_unlocking_a_target_leaves_one_row",
    "delete_selected": "test_delete_selected_leaves_one_row_per_deleted_row",
}
COVERED_VIEWS = {
    "accounts_residentaccount_phone": "test_console_phone_change_leaves_one_row",
    "tenancy_lease_import": "test_roster_import_leaves_one_row",
    "tenancy_lease_export": "test_roster_export_writes_no_row",
}
DJANGO_VIEWS = {"changelist", "add", "history", "delete", "change"}
# The site's own pages: each writes one row, or (a read, a sign-in step) none.
SITE_VIEWS = {
    "password_change": "test_a_staff_password_change_leaves_one_row",
    "otp_setup": "test_totp_enrolment_leaves_one_row",
    "otp_recovery_codes": "test_issuing_recovery_codes_leaves_one_row",
}
SITE_VIEWS_WITHOUT_WRITES = {
    "index",
    "login",
    "logout",
    "password_change_done",
    "autocomplete",
    "jsi18n",
    "view_on_site",
    "app_list",
    "otp_verify",
    "otp_signout",
}


def test_every_action_and_custom_view_has_a_row_test(tenants, superuser):
    request = RequestFactory().get("/")
    request.user = superuser
    for label, (model, model_admin) in registered().items():
        for name in model_admin.get_actions(request):
            key = name if name == "delete_selected" else (label, name)
            assert key in COVERED_ACTIONS, f"add a test of action {label}.{name} to COVERED_ACTIONS"
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            if name.startswith(prefix) and name.removeprefix(prefix) in DJANGO_VIEWS:
                continue
            if name:
                assert name in COVERED_VIEWS, f"add a test of view {name} to COVERED_VIEWS"
    for pattern in admin.site.get_urls():
        name = getattr(pattern, "name", None)
        if name is not None:
            assert name in SITE_VIEWS or name in SITE_VIEWS_WITHOUT_WRITES, f"add a test of view {name} to SITE_VIEWS"
    for test_name in [*COVERED_ACTIONS.values(), *COVERED_VIEWS.values(), *SITE_VIEWS.values()]:
        assert test_name in globals(), test_name


def _action(client, model, action: str, pks, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], **extra}
    return client.post(admin_url(model, "changelist"), data)


def _one_row(before: int, action: str) -> AuditLogEntry:
    rows = new_rows(before)
    assert [row.action for row in rows] == [action]
    assert_masked(rows[0])
    return rows[0]


def test_move_out_now_leaves_one_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    assert _action(client, type(a.unit), "move_out_now", [a.unit.pk], confirm="yes").status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.UNIT_RESET)
    assert (entry.actor, entry.operator) == (a.admin, a.operator)
    assert (entry.target_type, entry.target_id) == ("tenancy.unit", str(a.unit.pk))


def test_ending_sessions_leaves_one_row_per_resident(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    before = AuditLogEntry.objects.count()
    resident = a.resident
    assert _action(client, ResidentAccount, "end_sessions", [resident.pk]).status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.SESSIONS_END)
    assert (entry.actor, entry.operator) == (a.staff, a.operator)
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(resident.pk))


def test_totp_reset_leaves_one_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    staff = a.staff
    assert _action(client, StaffAccount, "otp_reset", [staff.pk]).status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.STAFF_OTP_RESET)
    assert (entry.actor, entry.operator) == (a.admin, a.operator)
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(staff.pk))


def test_signin_unlock_leaves_one_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    staff = a.staff
    assert _action(client, StaffAccount, "signin_unlock", [staff.pk]).status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.STAFF_UPDATE)
    assert (entry.actor, entry.operator) == (a.admin, a.operator)
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(staff.pk))
    assert entry.new_value == "sign-in unlocked"


def test_unlocking_a_target_leaves_one_row(client, superuser):
    target = VerificationTarget.objects.create(target="+819011112222", consecutive_failures=100)
    client.force_login(superuser)
    before = AuditLogEntry.objects.count()
    assert _action(client, VerificationTarget, "unlock", [target.pk]).status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.TARGET_UNLOCK)
    assert (entry.actor, entry.operator) == (superuser, None)
    assert entry.target_label == "+81******2222"
    assert entry.old_value.startswith("consecutive_failures=100")
    target.refresh_from_db()
    assert target.consecutive_failures == 0


def test_delete_selected_leaves_one_row_per_deleted_row(client, tenants):
    a, _b = tenants
    units = UnitFactory.create_batch(2, property=a.objects["tenancy.Property"])
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    response = _action(client, type(a.unit), "delete_selected", [unit.pk for unit in units], post="yes")
    assert response.status_code == HTTPStatus.FOUND
    rows = new_rows(before)
    assert [row.action for row in rows] == [Action.OBJECT_DELETE] * 2
    assert sorted(row.target_id for row in rows) == sorted(str(unit.pk) for unit in units)
    assert {row.operator for row in rows} == {a.operator}


def test_console_phone_change_leaves_one_row(client, tenants, django_capture_on_commit_callbacks):
    a, _b = tenants
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    resident = a.resident
    url = reverse("admin:accounts_residentaccount_phone", args=[resident.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"phone_number": "090-8765-4321", "confirm": "on"})
    assert response.status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.PHONE_CHANGE)
    assert (entry.actor, entry.operator, entry.target_id) == (a.admin, a.operator, str(resident.pk))
    assert entry.new_value == "+81******4321"


def test_roster_import_leaves_one_row(client, tenants):
    a, _b = tenants
    UnitFactory(property=a.objects["tenancy.Property"], number="A-IMPORT")
    client.force_login(a.admin)
    content = "物件名,部屋番号,入居者電話番号,ユーザー属性,契約開始日,契約終了日\n"
    content += "A-PROPERTY メゾン,A-IMPORT,090-2000-0001,rental_resident,2026-04-01,\n"
    url = reverse("admin:tenancy_lease_import")
    preview = client.post(url, {"file": SimpleUploadedFile("roster.csv", content.encode(), "text/csv")})
    assert preview.status_code == HTTPStatus.OK, preview.context.get("plan")
    before = AuditLogEntry.objects.count()
    token = preview.context["confirm_form"].initial["token"]
    assert client.post(url, {"token": token}).status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.LEASE_IMPORT)
    assert (entry.actor, entry.operator, entry.target_type) == (a.admin, a.operator, "tenancy.lease")


def test_roster_export_writes_no_row(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    before = AuditLogEntry.objects.count()
    response = client.get(reverse("admin:tenancy_lease_export"))
    assert response.status_code == HTTPStatus.OK
    b"".join(response.streaming_content)
    assert new_rows(before) == []


def test_a_staff_password_change_leaves_one_row(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    before = AuditLogEntry.objects.count()
    new = "another-long-password-7"
    data = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    assert client.post(reverse("admin:password_change"), data).status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.STAFF_PASSWORD_CHANGE)
    assert (entry.actor, entry.operator, entry.target_id) == (a.staff, a.operator, str(a.staff.pk))
    assert entry.new_value == "password=••••"
    a.staff.refresh_from_db()
    assert a.staff.check_password(new) and a.staff.password not in str(vars(entry))


def test_a_refused_password_change_leaves_no_row(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    before = AuditLogEntry.objects.count()
    data = {"old_password": "wrong", "new_password1": "x-long-password-1", "new_password2": "x-long-password-1"}
    assert client.post(reverse("admin:password_change"), data).status_code == HTTPStatus.OK
    assert new_rows(before) == []


def test_totp_enrolment_leaves_one_row(client, otp_required):
    staff = staff_in("operator_admin")
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.get(reverse("admin:otp_setup"))
        device = TOTPDevice.objects.get(user=staff)
        before = AuditLogEntry.objects.count()
        response = client.post(reverse("admin:otp_setup"), {"token": token_for(device)})
    assert response.status_code == HTTPStatus.FOUND
    entry = _one_row(before, Action.STAFF_OTP_CONFIRM)
    assert (entry.actor, entry.operator, entry.target_id) == (staff, staff.operator, str(staff.pk))


def test_issuing_recovery_codes_leaves_one_row(client, otp_required):
    staff = staff_in("operator_admin")
    device = enrolled(staff)
    with time_machine.travel(T0, tick=False):
        sign_in(client, staff)
        client.post(reverse("admin:otp_verify"), {"token": token_for(device)})
        before = AuditLogEntry.objects.count()
        response = client.post(reverse("admin:otp_recovery_codes"))
    assert response.status_code == HTTPStatus.OK and response.context["codes"]
    entry = _one_row(before, Action.STAFF_RECOVERY_CODES_ISSUE)
    assert (entry.actor, entry.operator, entry.target_id) == (staff, staff.operator, str(staff.pk))
    assert not any(code.replace("-", "") in entry.new_value for code in response.context["codes"])


def test_a_write_refused_by_its_service_rolls_back_its_row(tenants):
    """The row and the write are one transaction: a write that fails leaves no row."""
    a, _b = tenants
    unit = a.unit
    before = AuditLogEntry.objects.count()
    # Another unit's number on the same property: the unique constraint refuses the save.
    UnitFactory(property=unit.property, number="A-TAKEN")
    unit.number = "A-TAKEN"
    with pytest.raises(IntegrityError), transaction.atomic():
        console_object_save(obj=unit, acting_user=a.admin)
    assert AuditLogEntry.objects.count() == before


# The audit log page: search by target, dates, scoped
# ------------------------------------------------------------------------------

AUDIT_LIST = reverse("admin:tenancy_auditlogentry_changelist")


def _phone_row(tenant: Tenant, phone: str, when: str) -> AuditLogEntry:
    """A phone-change row of the tenant's resident, at `when`, as the service writes it."""
    with time_machine.travel(when, tick=False):
        return audit_log_record(
            actor=tenant.admin,
            operator=tenant.operator,
            action=Action.PHONE_CHANGE,
            target=tenant.resident,
            target_label=f"#{tenant.resident.pk}",
            old_value=mask_phone(tenant.resident.phone_number.as_e164),
            new_value=mask_phone(phone),
        )


def _listed(client, **params) -> set[int]:
    response = client.get(AUDIT_LIST, params)
    assert response.status_code == HTTPStatus.OK
    return {entry.pk for entry in response.context["cl"].result_list}


@pytest.fixture
def phone_rows(tenants):
    a, b = tenants
    return (
        _phone_row(a, "+819011115678", "2026-11-03 10:00:00+09:00"),
        _phone_row(b, "+819022225678", "2026-11-04 10:00:00+09:00"),
    )


@pytest.mark.parametrize("typed", ["5678", "５６７８", "090-1111-5678", "+819011115678"])
def test_staff_find_a_row_by_the_phone_numbers_last_four_digits_or_the_whole_number(client, tenants, phone_rows, typed):
    a, _b = tenants
    a_row, _b_row = phone_rows
    client.force_login(a.admin)
    assert a_row.pk in _listed(client, q=typed)


@pytest.mark.parametrize("typed", ["{id}", "#{id}", "＃{id}"])
def test_staff_find_a_row_by_its_targets_id(client, tenants, phone_rows, typed):
    a, _b = tenants
    a_row, _b_row = phone_rows
    # A row about another account of the same operator (its id differs: both are users).
    other = audit_log_record(actor=a.admin, operator=a.operator, action=Action.STAFF_OTP_RESET, target=a.staff)
    client.force_login(a.admin)
    found = _listed(client, q=typed.format(id=a.resident.pk))
    assert a_row.pk in found
    assert other.pk not in found


def test_an_operator_never_finds_another_operators_rows_by_search(client, tenants, phone_rows):
    a, b = tenants
    a_row, b_row = phone_rows
    client.force_login(a.admin)
    for typed in ["5678", str(b.resident.pk), f"#{b.resident.pk}", "+819022225678", "B-AUDIT", ""]:
        assert b_row.pk not in _listed(client, q=typed), typed
    client.force_login(b.admin)
    assert _listed(client, q="5678") & {a_row.pk, b_row.pk} == {b_row.pk}


def test_platform_staff_find_every_operators_rows(client, tenants, phone_rows, superuser):
    client.force_login(superuser)
    assert {row.pk for row in phone_rows} <= _listed(client, q="5678")


def test_a_search_for_other_digits_finds_nothing_of_that_number(client, tenants, phone_rows):
    a, _b = tenants
    client.force_login(a.admin)
    assert phone_rows[0].pk not in _listed(client, q="5679")


def test_a_from_to_range_lists_the_rows_of_those_days_and_stays_scoped(client, tenants, phone_rows, superuser):
    a, _b = tenants
    a_row, b_row = phone_rows
    client.force_login(superuser)
    assert _listed(client, created_from="2026-11-03", created_to="2026-11-03") & {a_row.pk, b_row.pk} == {a_row.pk}
    assert _listed(client, created_from="2026-11-04") & {a_row.pk, b_row.pk} == {b_row.pk}
    assert _listed(client, created_to="2026-11-04") & {a_row.pk, b_row.pk} == {a_row.pk, b_row.pk}
    client.force_login(a.admin)
    assert _listed(client, created_from="2026-11-04", created_to="2026-11-04") == set()


def test_the_range_counts_days_in_japan_time(client, tenants, superuser):
    a, _b = tenants
    # 00:30 on 3 November in Tokyo is still 2 November in UTC.
    row = _phone_row(a, "+819033330001", "2026-11-03 00:30:00+09:00")
    client.force_login(superuser)
    assert row.pk in _listed(client, created_from="2026-11-03", created_to="2026-11-03")
    assert row.pk not in _listed(client, created_from="2026-11-02", created_to="2026-11-02")


def test_the_range_accepts_full_width_and_slashed_dates(client, tenants, phone_rows, superuser):
    a_row, _b_row = phone_rows
    client.force_login(superuser)
    assert a_row.pk in _listed(client, created_from="２０２６/１１/０３", created_to="2026/11/03")


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"created_from": "3 Nov"}, "created_from", "日付は 2026-11-30 のように入力してください。"),
        ({"created_from": "2026-11-31"}, "created_from", "日付は 2026-11-30 のように入力してください。"),
        (
            {"created_from": "2026-11-05", "created_to": "2026-11-04"},
            "created_to",
            "終了日は開始日と同じ日か、それより後にしてください。",
        ),
    ],
)
def test_an_unreadable_range_says_why_keeps_what_was_typed_and_filters_nothing(
    client, tenants, phone_rows, superuser, params, field, message
):
    client.force_login(superuser)
    response = client.get(AUDIT_LIST, {**params, "q": "5678"})
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert message in page
    assert f'id="audit-{field.replace("_", "-")}-error"' in page
    for value in params.values():
        assert f'value="{value}"' in page
    # The search typed with it is kept in the form, and the rows are not narrowed by the bad range.
    assert '<input type="hidden" name="q" value="5678">' in page
    assert {row.pk for row in phone_rows} <= {entry.pk for entry in response.context["cl"].result_list}


def test_the_target_type_filter_lists_the_rows_about_that_model(client, tenants, phone_rows):
    a, _b = tenants
    a_row, _b_row = phone_rows
    unit_row = audit_log_record(actor=a.admin, operator=a.operator, action=Action.UNIT_RESET, target=a.unit)
    client.force_login(a.admin)
    assert _listed(client, target_type="tenancy.unit") == {unit_row.pk}
    assert a_row.pk in _listed(client, target_type="accounts.user")


def test_the_target_type_filter_offers_only_models_the_user_may_see(client, tenants, superuser):
    a, _b = tenants

    def offered(user) -> set[str]:
        client.force_login(user)
        specs = client.get(AUDIT_LIST).context["cl"].filter_specs
        spec = next(spec for spec in specs if getattr(spec, "parameter_name", None) == "target_type")
        return {value for value, _label in spec.lookup_choices}

    assert {"tenancy.unit", "accounts.user"} <= offered(a.admin)
    assert "accounts.userattribute" not in offered(a.admin)
    assert "accounts.userattribute" in offered(superuser)
