"""The cross-tenant matrix: staff of operator A, trying every admin URL with ids of operator B, sees nothing of B.

Parametrised over every registered ModelAdmin: a new admin without a row in TENANT_MODELS
or PLATFORM_MODELS fails `test_every_registered_admin_is_in_the_matrix`.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import ForeignKey, ManyToManyField
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from accounts.models import User, VerificationCode, VerificationTarget
from myspacecore.tenancy.models import AuditLogEntry
from myspacecore.tenancy.scoped_admin import OperatorScopedAdminMixin
from myspacecore.tenancy.scoping import SCOPE_RULES
from smarthome.models import PinCode, RemoteControlSetting

pytestmark = pytest.mark.django_db

# Models whose rows belong to an operator: each tenant fixture holds one row of each.
TENANT_MODELS = [
    "tenancy.Operator",
    "tenancy.Property",
    "tenancy.Unit",
    "tenancy.Lease",
    "accounts.ResidentAccount",
    "accounts.StaffAccount",
    "tenancy.AuditLogEntry",
    "smarthome.Device",
    "smarthome.RemoteControlSetting",
    "smarthome.PinCode",
]
# Models only platform staff reach (another app's platform-only admin may add more:
# any registered model outside TENANT_MODELS without a scope rule counts as one).
PLATFORM_MODELS = ["accounts.UserAttribute", "accounts.VerificationCode", "accounts.VerificationTarget", "auth.Group"]
ROLES = ["admin", "staff"]


def admin_for(label: str):
    for model, model_admin in admin.site._registry.items():
        if model._meta.label == label:
            return model, model_admin
    raise LookupError(label)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def b_markers(b) -> list[str]:
    """Text that only B's rows contain (names, serials, the resident's phone and e-mail)."""
    resident = b.resident
    return [
        "B-OPERATOR",
        "B-PROPERTY",
        "B-901",
        "B-SERIAL",
        "B-HUB",
        "B-LOCK",
        "B-OWN",
        "B-REMOTE",
        "B-PIN",
        "B-AUDIT",
        "B-NICK",
        "b-resident@example.jp",
        "b-staff",
        "b-admin",
        resident.phone_number.as_e164,
        resident.phone_number.as_national,
    ]


def assert_nothing_of_b(response, b, *, typed: str = "") -> None:
    """No marker of B in the page; `typed` (the search term, echoed in its box) is left out."""
    content = response.content.decode()
    if typed:
        content = content.replace(typed, "")
    leaked = [marker for marker in b_markers(b) if marker in content]
    assert not leaked, f"{response.request['PATH_INFO']} shows {leaked}"


def b_snapshot(b) -> dict:
    """Every field of every row of B, and the counts of B's settings: any change shows."""
    snapshot = {}
    for key, obj in b.objects.items():
        row = type(obj)._base_manager.filter(pk=obj.pk).first()
        snapshot[key] = model_to_dict(row) if row is not None else None
        if isinstance(row, User):
            snapshot[f"{key}.session_token"] = row.session_token
    snapshot["remotes"] = RemoteControlSetting.objects.filter(name__startswith="B-").count()
    snapshot["pins"] = PinCode.objects.filter(label__startswith="B-").count()
    snapshot["audit"] = AuditLogEntry.objects.filter(operator=b.operator).count()
    return snapshot


@pytest.fixture(params=ROLES)
def a_client(request, client, tenants):
    a, _b = tenants
    client.force_login(a.admin if request.param == "admin" else a.staff)
    return client


def has_urls(model) -> bool:
    """False for an admin registered after the URLconf was built (imported late by a test): unreachable."""
    try:
        url(model, "changelist")
    except NoReverseMatch:
        return False
    return True


def platform_labels() -> list[str]:
    return sorted(
        model._meta.label
        for model in admin.site._registry
        if model._meta.label not in TENANT_MODELS and has_urls(model)
    )


def test_every_registered_admin_is_in_the_matrix():
    registered = {model._meta.label for model in admin.site._registry}
    assert set(TENANT_MODELS) | set(PLATFORM_MODELS) <= registered
    for label in platform_labels():
        # A model with a scope rule holds some operator's rows: it belongs in TENANT_MODELS.
        assert label in PLATFORM_MODELS or label not in SCOPE_RULES, f"add {label} to TENANT_MODELS"
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, OperatorScopedAdminMixin), type(model_admin).__name__


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_changelist_shows_own_rows_and_nothing_of_the_other_operator(a_client, tenants, label):
    a, b = tenants
    model, _model_admin = admin_for(label)
    response = a_client.get(url(model, "changelist"))
    if response.status_code == HTTPStatus.FORBIDDEN:
        # A role without this model (operator staff and the staff accounts, the audit log).
        return
    assert response.status_code == HTTPStatus.OK
    pks = {obj.pk for obj in response.context["cl"].result_list}
    assert a.objects[label].pk in pks
    assert b.objects[label].pk not in pks
    assert_nothing_of_b(response, b)


@pytest.mark.parametrize("label", TENANT_MODELS)
@pytest.mark.parametrize(
    "query",
    [
        {"q": "B-SERIAL-HUB"},
        {"_popup": "1", "_to_field": "id"},
        {"unit__property__id__exact": "{property}"},
        {"property__id__exact": "{property}"},
        {"operator__id__exact": "{operator}"},
    ],
)
def test_search_filters_and_raw_id_popups_never_reach_the_other_operator(a_client, tenants, label, query):
    _a, b = tenants
    model, _model_admin = admin_for(label)
    params = {
        key: value.format(property=b.objects["tenancy.Property"].pk, operator=b.operator.pk)
        for key, value in query.items()
    }
    response = a_client.get(url(model, "changelist"), params)
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.FOUND):
        return
    assert response.status_code == HTTPStatus.OK
    if "cl" in response.context:
        assert b.objects[label].pk not in {obj.pk for obj in response.context["cl"].result_list}
    assert_nothing_of_b(response, b, typed=params.get("q", ""))


@pytest.mark.parametrize("label", TENANT_MODELS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_object_pages_of_the_other_operator_answer_404(a_client, tenants, label, view):
    _a, b = tenants
    model, _model_admin = admin_for(label)
    before = b_snapshot(b)
    target = url(model, view, b.objects[label].pk)
    assert a_client.get(target).status_code == HTTPStatus.NOT_FOUND
    assert a_client.post(target, {"post": "yes", "name": "X", "number": "X"}).status_code == HTTPStatus.NOT_FOUND
    assert b_snapshot(b) == before


def test_custom_object_views_of_the_other_operator_answer_404(a_client, tenants):
    _a, b = tenants
    target = reverse("admin:accounts_residentaccount_phone", args=[b.resident.pk])
    before = b_snapshot(b)
    assert a_client.get(target).status_code == HTTPStatus.NOT_FOUND
    response = a_client.post(target, {"phone_number": "090-9999-0000", "confirm": "on"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b_snapshot(b) == before


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_actions_with_an_injected_id_of_the_other_operator_do_nothing(a_client, tenants, label):
    _a, b = tenants
    model, model_admin = admin_for(label)
    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=a_client.session["_auth_user_id"])
    actions = model_admin.get_actions(request)
    before = b_snapshot(b)
    for action in actions:
        a_client.post(
            url(model, "changelist"),
            {
                "action": action,
                ACTION_CHECKBOX_NAME: [b.objects[label].pk],
                "index": 0,
                "post": "yes",
                "confirm": "yes",
            },
        )
    assert b_snapshot(b) == before


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_foreign_key_choices_hold_nothing_of_the_other_operator(tenants, label):
    a, b = tenants
    model, model_admin = admin_for(label)
    b_pks = {}
    for value in b.objects.values():
        b_pks.setdefault(type(value)._meta.concrete_model, set()).add(value.pk)
    for user in (a.admin, a.staff):
        request = RequestFactory().get("/")
        request.user = user
        for db_field in model._meta.get_fields():
            if not isinstance(db_field, ForeignKey | ManyToManyField):
                continue
            formfield = model_admin.formfield_for_dbfield(db_field, request)
            if formfield is None or not hasattr(formfield, "queryset"):
                continue
            related = db_field.related_model._meta.concrete_model
            offered = set(formfield.queryset.values_list("pk", flat=True))
            assert not offered & b_pks.get(related, set()), f"{label}.{db_field.name} offers rows of B"


def test_a_foreign_key_of_the_other_operator_is_refused_on_save(client, tenants):
    a, b = tenants
    client.force_login(a.admin)
    response = client.post(
        reverse("admin:tenancy_lease_add"),
        {
            "unit": b.objects["tenancy.Unit"].pk,
            "phone_number": "090-5555-0000",
            "attribute": a.objects["tenancy.Lease"].attribute_id,
            "start_date": "2026-01-01",
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert "unit" in response.context["adminform"].form.errors
    assert not b.objects["tenancy.Unit"].leases.filter(phone_number="+819055550000").exists()


def autocomplete_sources():
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            yield model._meta.label, field_name


@pytest.mark.parametrize(("label", "field_name"), list(autocomplete_sources()))
@pytest.mark.parametrize("term", ["", "B", "B-"])
def test_autocomplete_offers_nothing_of_the_other_operator(a_client, tenants, label, field_name, term):
    _a, b = tenants
    model, _model_admin = admin_for(label)
    response = a_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field_name,
            "term": term,
        },
    )
    if response.status_code == HTTPStatus.FORBIDDEN:
        return
    assert response.status_code == HTTPStatus.OK
    related = model._meta.get_field(field_name).related_model
    b_pk = next(str(obj.pk) for obj in b.objects.values() if isinstance(obj, related))
    assert b_pk not in {result["id"] for result in response.json()["results"]}
    assert_nothing_of_b(response, b)


def test_autocomplete_answers_own_rows(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "tenancy", "model_name": "lease", "field_name": "unit", "term": ""},
    )
    assert response.status_code == HTTPStatus.OK
    assert [result["id"] for result in response.json()["results"]] == [str(a.objects["tenancy.Unit"].pk)]


def test_platform_models_are_closed_to_operator_staff(a_client, tenants, superuser):
    VerificationTarget.objects.create(target="+819012345678")
    for label in platform_labels():
        model, _model_admin = admin_for(label)
        assert a_client.get(url(model, "changelist")).status_code == HTTPStatus.FORBIDDEN, label
        obj = model._default_manager.first()
        if obj is not None:
            status = a_client.get(url(model, "change", obj.pk)).status_code
            assert status in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND), label


def test_superuser_sees_both_operators(client, tenants, superuser):
    a, b = tenants
    client.force_login(superuser)
    for label in TENANT_MODELS:
        model, _model_admin = admin_for(label)
        response = client.get(url(model, "changelist"))
        pks = {obj.pk for obj in response.context["cl"].result_list}
        assert {a.objects[label].pk, b.objects[label].pk} <= pks, label


def test_staff_without_an_operator_sees_nothing(client, tenants):
    from django.contrib.auth.models import Group

    from tests.factories import StaffFactory

    lost = StaffFactory(username="no-operator")
    lost.groups.set([Group.objects.get(name="operator_admin")])
    client.force_login(lost)
    index = client.get(reverse("admin:index"))
    assert index.status_code == HTTPStatus.OK
    assert index.context["app_list"] == []
    for label in TENANT_MODELS:
        model, _model_admin = admin_for(label)
        assert client.get(url(model, "changelist")).status_code == HTTPStatus.FORBIDDEN
    _a, b = tenants
    assert client.get(url(*admin_for("tenancy.Unit")[:1], "change", b.unit.pk)).status_code == HTTPStatus.NOT_FOUND


def test_verification_code_page_never_shows_the_hash(client, superuser):
    import datetime

    from django.utils import timezone

    code = VerificationCode.objects.create(
        purpose="sign_in",
        channel="sms",
        target="+819012345678",
        code_hash="f" * 64,
        expires_at=timezone.now() + datetime.timedelta(minutes=5),
    )
    client.force_login(superuser)
    for target in (url(VerificationCode, "changelist"), url(VerificationCode, "change", code.pk)):
        response = client.get(target)
        assert response.status_code == HTTPStatus.OK
        assert "f" * 64 not in response.content.decode()


@pytest.mark.parametrize("label", TENANT_MODELS)
def test_own_object_pages_render(a_client, tenants, label):
    a, _b = tenants
    model, _model_admin = admin_for(label)
    own = a.objects[label].pk
    for target in (url(model, "add"), url(model, "change", own), url(model, "history", own)):
        assert a_client.get(target).status_code in (HTTPStatus.OK, HTTPStatus.FORBIDDEN), target


def test_every_page_renders_for_platform_staff(client, tenants, superuser):
    a, _b = tenants
    client.force_login(superuser)
    for model in admin.site._registry:
        if not has_urls(model):
            continue
        targets = [url(model, "changelist"), url(model, "add")]
        own = a.objects.get(model._meta.label)
        if own is not None:
            targets += [url(model, "change", own.pk), url(model, "delete", own.pk)]
        for target in targets:
            assert client.get(target).status_code in (HTTPStatus.OK, HTTPStatus.FORBIDDEN), target
