"""Probing another operator through "already exists": operator A types B's values (a serial
number, a staff username, a resident's phone number) and gets exactly the answer it gets for
a clash with its own record, an answer that says what to do without confirming B's record."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from smarthome.models import Device
from tests.admin.conftest import tenant_build
from tests.factories import LeaseFactory, ResidentFactory, StaffFactory, UnitFactory, attribute
from tests.smarthome.factories import UnitDeviceFactory

pytestmark = pytest.mark.django_db

SERIAL_TAKEN = (
    "このシリアル番号は登録できません。番号をご確認ください。"
    "正しい番号で登録できない場合は、SpaceCore サポートにお問い合わせください。"
)
USERNAME_TAKEN = (
    "このユーザー名は使用できません。別のユーザー名を入力してください。"
    "同じ名前で登録する必要がある場合は、SpaceCore サポートにお問い合わせください。"
)
PHONE_TAKEN = "この電話番号は使用できません。別の番号を入力してください。"
# Words of Django's own unique message ("… with this … already exists"), in either language.
DJANGO_UNIQUE_WORDS = ("既に存在します", "already exists")


@pytest.fixture
def tenants(db):
    from myspacecore.tenancy.roles import operator_roles_sync

    operator_roles_sync()
    return tenant_build("A"), tenant_build("B")


def form_errors(response) -> dict[str, list[str]]:
    form = response.context["adminform"].form if "adminform" in response.context else response.context["form"]
    return {field: list(errors) for field, errors in form.errors.items()}


def assert_says_nothing_of_b(response, typed: str) -> None:
    # The form shows back what A typed, and nothing else of B.
    page = response.content.decode().replace(typed, "")
    assert "B-" not in page
    assert not any(words in page for words in DJANGO_UNIQUE_WORDS)


def test_a_serial_number_of_another_operator_gets_the_answer_of_ones_own(client, tenants):
    a, b = tenants
    own_spare = UnitDeviceFactory(unit=a.unit, serial_number="A-SERIAL-SPARE")
    client.force_login(a.admin)
    add = reverse("admin:smarthome_device_add")

    def add_with(serial: str):
        return client.post(add, {"kind": Device.Kind.HUB, "name": "ハブ", "serial_number": serial, "unit": a.unit.pk})

    b_serial = b.objects["smarthome.Device"].serial_number
    theirs, ours = add_with(b_serial), add_with(own_spare.serial_number)

    assert theirs.status_code == ours.status_code == HTTPStatus.OK
    assert form_errors(theirs) == form_errors(ours) == {"serial_number": [SERIAL_TAKEN]}
    assert_says_nothing_of_b(theirs, b_serial)
    assert Device.objects.filter(unit=a.unit, name="ハブ").count() == 0


def test_a_staff_username_of_another_operator_gets_the_answer_of_ones_own(client, tenants):
    a, b = tenants
    client.force_login(a.admin)
    add = reverse("admin:accounts_staffaccount_add")

    def add_with(username: str):
        data = {"username": username, "role": "operator_staff", "is_active": "on"}
        return client.post(add, {**data, "password1": "a-new-long-password-9", "password2": "a-new-long-password-9"})

    theirs, ours = add_with(b.admin.username), add_with(a.staff.username)

    assert theirs.status_code == ours.status_code == HTTPStatus.OK
    assert form_errors(theirs) == form_errors(ours) == {"username": [USERNAME_TAKEN]}
    assert_says_nothing_of_b(theirs, b.admin.username)
    assert User.objects.filter(username=b.admin.username).get().operator == b.operator


def test_the_staff_service_refuses_a_taken_username_in_the_same_words(tenants):
    from django.core.exceptions import ValidationError

    from accounts.services.staff import staff_account_create

    a, b = tenants
    with pytest.raises(ValidationError) as refused:
        staff_account_create(
            operator=a.operator,
            username=b.admin.username,
            password="a-new-long-password-9",
            role="operator_staff",
            acting_user=a.admin,
        )
    assert refused.value.message_dict == {"username": [USERNAME_TAKEN]}


def test_a_residents_phone_number_of_another_operator_gets_the_answer_of_ones_own(client, tenants):
    a, b = tenants
    neighbour = ResidentFactory(attribute=attribute("rental_resident"))
    LeaseFactory(
        unit=UnitFactory(property=a.objects["tenancy.Property"]),
        phone_number=neighbour.phone_number,
        resident=neighbour,
    )
    client.force_login(a.admin)
    phone_page = reverse("admin:accounts_residentaccount_phone", args=[a.resident.pk])

    def change_to(number) -> object:
        return client.post(phone_page, {"phone_number": number.as_national, "confirm": "on"})

    theirs, ours = change_to(b.resident.phone_number), change_to(neighbour.phone_number)

    assert theirs.status_code == ours.status_code == HTTPStatus.BAD_REQUEST
    assert form_errors(theirs) == form_errors(ours) == {"__all__": [PHONE_TAKEN]}
    assert_says_nothing_of_b(theirs, b.resident.phone_number.as_national)
    a.resident.refresh_from_db()
    assert a.resident.phone_number != b.resident.phone_number


def test_probing_the_other_way_round_gets_the_same_words(client, tenants):
    """B's admin typing A's staff name: the answer depends on no operator."""
    a, b = tenants
    other_admin = StaffFactory(operator=b.operator)
    other_admin.groups.set([Group.objects.get(name="operator_admin")])
    client.force_login(other_admin)
    add = reverse("admin:accounts_staffaccount_add")
    data = {"username": a.staff.username, "role": "operator_staff", "is_active": "on"}
    response = client.post(add, {**data, "password1": "a-new-long-password-9", "password2": "a-new-long-password-9"})

    assert form_errors(response) == {"username": [USERNAME_TAKEN]}
    assert "A-" not in response.content.decode()
