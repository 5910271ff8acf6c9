"""The lease import between its two steps: the previewed file stays on the server under a
token bound to the staff member and the operator, for 30 minutes, used once."""

from __future__ import annotations

import datetime
import re
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from myspacecore.tenancy.models import AuditLogEntry, Lease, Property
from tests.factories import StaffFactory, UnitFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:tenancy_lease_import")
HEADER = "物件名,部屋番号,入居者電話番号,ユーザー属性,契約開始日,契約終了日\n"
ROW = "A-PROPERTY メゾン,A-902,090-2000-0001,rental_resident,2026-04-01,\n"
T0 = datetime.datetime(2026, 3, 1, 10, 0, tzinfo=datetime.UTC)
GONE = "アップロードから時間が経ったか、すでに取り込み済みです。もう一度アップロードしてください。"


@pytest.fixture(autouse=True)
def vacant_unit(tenants):
    """A unit of A with no lease: ROW adds one without overlapping A-901's."""
    a, _b = tenants
    return UnitFactory(property=a.objects["tenancy.Property"], number="A-902")


def preview(client, content: str = HEADER + ROW, **data):
    file = SimpleUploadedFile("roster.csv", content.encode(), "text/csv")
    return client.post(IMPORT_URL, {"file": file, **data})


def token_of(response) -> str:
    assert response.status_code == HTTPStatus.OK
    return response.context["confirm_form"].initial["token"]


def imports() -> tuple[int, int]:
    """Leases and import audit rows: what a confirmation writes."""
    return Lease.objects.count(), AuditLogEntry.objects.filter(action=AuditLogEntry.Action.LEASE_IMPORT).count()


def assert_refused_as_gone(response) -> None:
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert GONE in response.content.decode()
    assert response.context["form"] is not None  # the upload form, to start again


def second_admin_of(operator):
    staff = StaffFactory(operator=operator)
    staff.groups.set([Group.objects.get(name="operator_admin")])
    return staff


def test_the_confirm_form_carries_only_the_token_never_the_file(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    response = preview(client)
    page = response.content.decode()
    assert set(response.context["confirm_form"].fields) == {"token"}
    confirm = re.search(r'<form method="post" id="import-confirm">.*?</form>', page, re.DOTALL).group()
    assert set(re.findall(r'name="([^"]+)"', confirm)) == {"csrfmiddlewaretoken", "token"}
    assert ROW.strip() not in page and "090-2000-0001" not in page
    assert len(token_of(response)) >= 43


def test_a_token_imports_once_and_a_second_confirmation_writes_nothing(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    token = token_of(preview(client))
    before = imports()
    assert client.post(IMPORT_URL, {"token": token}).status_code == HTTPStatus.FOUND
    assert imports() == (before[0] + 1, before[1] + 1)

    assert_refused_as_gone(client.post(IMPORT_URL, {"token": token}))
    assert imports() == (before[0] + 1, before[1] + 1)


def test_a_token_expires_30_minutes_after_the_preview(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    with time_machine.travel(T0, tick=False):
        token = token_of(preview(client))
    before = imports()
    with time_machine.travel(T0 + datetime.timedelta(minutes=30, seconds=1), tick=False):
        assert_refused_as_gone(client.post(IMPORT_URL, {"token": token}))
    assert imports() == before


def test_a_token_is_still_good_29_minutes_after_the_preview(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    with time_machine.travel(T0, tick=False):
        token = token_of(preview(client))
    with time_machine.travel(T0 + datetime.timedelta(minutes=29), tick=False):
        assert client.post(IMPORT_URL, {"token": token}).status_code == HTTPStatus.FOUND


@pytest.mark.parametrize("who", ["same_operator", "other_operator", "platform"])
def test_another_staff_member_cannot_confirm_someone_elses_token(client, tenants, superuser, who):
    a, b = tenants
    client.force_login(a.admin)
    token = token_of(preview(client))
    before = imports()
    other = {"same_operator": second_admin_of(a.operator), "other_operator": b.admin, "platform": superuser}[who]

    client.force_login(other)
    assert_refused_as_gone(client.post(IMPORT_URL, {"token": token}))
    assert imports() == before

    # The refusal spoilt nothing: whose token it is can still use it.
    client.force_login(a.admin)
    assert client.post(IMPORT_URL, {"token": token}).status_code == HTTPStatus.FOUND


def test_a_new_preview_replaces_the_waiting_one(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    first = token_of(preview(client))
    second = token_of(preview(client, HEADER + ROW.replace("0001", "0002")))
    before = imports()
    assert_refused_as_gone(client.post(IMPORT_URL, {"token": first}))
    assert imports() == before
    assert client.post(IMPORT_URL, {"token": second}).status_code == HTTPStatus.FOUND
    assert Lease.objects.filter(phone_number="+819020000002").exists()
    assert not Lease.objects.filter(phone_number="+819020000001").exists()


@pytest.mark.parametrize("token", ["", "not a token!", "x" * 65, "a" * 43, "トークン"])
def test_a_missing_malformed_or_unknown_token_is_refused_as_an_expired_one(client, tenants, token):
    a, _b = tenants
    client.force_login(a.admin)
    token_of(preview(client))
    before = imports()
    assert_refused_as_gone(client.post(IMPORT_URL, {"token": token}))
    assert imports() == before


def test_platform_staff_import_for_the_operator_they_chose(client, tenants, superuser):
    _a, b = tenants
    client.force_login(superuser)
    content = HEADER + "B-PROPERTY メゾン,B-902,090-2000-0009,owner,2026-04-01,\n"
    token = token_of(preview(client, content, operator=b.operator.pk, create_units="on"))
    assert client.post(IMPORT_URL, {"token": token}).status_code == HTTPStatus.FOUND
    lease = Lease.objects.get(phone_number="+819020000009")
    assert lease.unit.property.operator == b.operator
    assert AuditLogEntry.objects.filter(action=AuditLogEntry.Action.LEASE_IMPORT).latest("pk").operator == b.operator


def test_confirmation_checks_the_file_again_and_uses_up_the_token(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    token = token_of(preview(client, HEADER + ROW.replace("A-902", "A-777"), create_units="on"))
    # Between the two steps, the property is renamed: the row no longer matches it.
    Property.objects.filter(operator=a.operator).update(name="A-RENAMED")
    before = imports()
    response = client.post(IMPORT_URL, {"token": token})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "2行目「物件名」: この物件は登録されていません。" in response.content.decode()
    assert imports() == before
    assert_refused_as_gone(client.post(IMPORT_URL, {"token": token}))
