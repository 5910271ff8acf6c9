"""The roster import checks the domain: overlapping leases of a unit or of a number, unknown
units, Japanese mobile numbers only, and an export that imports again without a change."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from myspacecore.tenancy.models import AuditLogEntry, Lease, Property, Unit
from myspacecore.tenancy.services.roster import lease_import, lease_import_preview
from tests.factories import LeaseFactory, PropertyFactory, UnitFactory, attribute

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:tenancy_lease_import")
EXPORT_URL = reverse("admin:tenancy_lease_export")
HEADER = "物件名,部屋番号,入居者電話番号,ユーザー属性,契約開始日,契約終了日\n"
PROP = "A-PROPERTY メゾン"
NOT_MOBILE = "日本の携帯電話番号（070・080・090 で始まる番号）を入力してください。SMS を受け取れる番号が必要です。"


def row(unit: str, phone: str, start: str, end: str = "", prop: str = PROP) -> str:
    return f"{prop},{unit},{phone},rental_resident,{start},{end}\n"


def errors_of(operator, content: str, **options) -> list[str]:
    return [str(error) for error in lease_import_preview(operator=operator, content=content, **options).errors]


@pytest.fixture
def a(tenants):
    return tenants[0]


@pytest.fixture
def vacant(a):
    """Unit A-902 of A's property, with a lease from 2026-04-01 to 2027-03-31 (090-3000-0001)."""
    unit = UnitFactory(property=a.objects["tenancy.Property"], number="A-902")
    LeaseFactory(
        unit=unit,
        phone_number="+819030000001",
        start_date=datetime.date(2026, 4, 1),
        end_date=datetime.date(2027, 3, 31),
    )
    return unit


# Overlaps on a unit
# ------------------------------------------------------------------------------


def test_a_lease_overlapping_one_already_on_the_unit_is_an_error_naming_it(a, vacant):
    content = HEADER + row("A-902", "090-2000-0001", "2027-03-31")

    assert errors_of(a.operator, content) == [
        "2行目「部屋番号」: 同じ住戸に期間が重なる入居契約がすでにあります"
        "（A-PROPERTY メゾン A-902 2026-04-01〜2027-03-31）。"
    ]


def test_a_lease_starting_the_day_after_the_last_one_ends_is_fine(a, vacant):
    plan = lease_import_preview(operator=a.operator, content=HEADER + row("A-902", "090-2000-0001", "2027-04-01"))

    assert plan.is_valid and plan.creates == 1


def test_two_rows_of_the_file_on_one_unit_at_once_are_an_error_naming_the_first(a, vacant):
    content = HEADER + row("A-902", "090-2000-0001", "2027-06-01") + row("A-902", "090-2000-0002", "2028-01-01")

    assert errors_of(a.operator, content) == ["3行目「部屋番号」: 同じ住戸の2行目の入居契約と期間が重なっています。"]


def test_the_file_may_end_a_lease_and_start_the_next_on_the_same_unit(a, vacant):
    """The lease as the file leaves it counts, not as it was: ending it makes room for the next."""
    content = HEADER + row("A-902", "090-3000-0001", "2026-04-01", "2026-09-30")
    content += row("A-902", "090-2000-0001", "2026-10-01")

    plan = lease_import_preview(operator=a.operator, content=content)

    assert plan.errors == [] and (plan.updates, plan.creates) == (1, 1)


def test_a_declined_lease_leaves_its_unit_free(a, vacant):
    Lease.objects.filter(unit=vacant).update(acceptance=Lease.Acceptance.DECLINED)

    assert errors_of(a.operator, HEADER + row("A-902", "090-2000-0001", "2026-05-01")) == []


def test_leases_already_overlapping_on_the_roster_do_not_stop_an_unrelated_import(a, vacant):
    LeaseFactory(unit=vacant, phone_number="+819030000002", start_date=datetime.date(2026, 5, 1))

    assert errors_of(a.operator, HEADER + row("A-903", "090-2000-0001", "2026-05-01"), create_units=True) == []


def test_a_thousand_clashing_rows_are_checked_in_a_fixed_number_of_queries(a, vacant, django_assert_max_num_queries):
    content = HEADER + "".join(row("A-902", f"090-4000-{n:04d}", "2028-01-01") for n in range(1000))

    with django_assert_max_num_queries(5):
        plan = lease_import_preview(operator=a.operator, content=content)

    # Every row after the first overlaps the first (open-ended: it reaches furthest), named once each.
    assert len(plan.errors) == 999
    assert str(plan.errors[-1]) == "1001行目「部屋番号」: 同じ住戸の2行目の入居契約と期間が重なっています。"


# The same number twice
# ------------------------------------------------------------------------------


def test_one_number_on_two_units_at_once_in_the_file_is_an_error_naming_the_row(a, vacant):
    content = HEADER + row("A-902", "090-2000-0001", "2027-04-01", "2027-12-31")
    content += row("A-903", "090-2000-0001", "2027-12-31")

    assert errors_of(a.operator, content, create_units=True) == [
        "3行目「入居者電話番号」: 同じ電話番号の2行目の入居契約と期間が重なっています。"
    ]


def test_one_number_already_on_a_current_lease_of_the_operator_is_an_error(a, vacant):
    content = HEADER + row("A-903", "090-3000-0001", "2027-01-01")

    assert errors_of(a.operator, content, create_units=True) == [
        "2行目「入居者電話番号」: この電話番号には期間が重なる入居契約がすでにあります"
        "（A-PROPERTY メゾン A-902 2026-04-01〜2027-03-31）。"
    ]


def test_another_operators_lease_of_the_same_number_is_none_of_this_operators_business(tenants):
    """A second home with another company is legitimate, and the preview must not even hint at it."""
    a, b = tenants
    b_phone = b.objects["tenancy.Lease"].phone_number.as_national
    content = HEADER + row("A-903", b_phone, "2020-01-01")

    plan = lease_import_preview(operator=a.operator, content=content, create_units=True)

    assert plan.is_valid


# Unknown units
# ------------------------------------------------------------------------------


def test_an_unknown_unit_is_an_error_unless_the_operator_asks_for_new_units(a):
    content = HEADER + row("A-9O1", "090-2000-0001", "2027-01-01")

    assert errors_of(a.operator, content) == [
        "2行目「部屋番号」: この部屋番号の住戸は物件に登録されていません。部屋番号を確認するか、"
        "「登録されていない住戸を作成する」にチェックを入れて、もう一度アップロードしてください。"
    ]
    with pytest.raises(ValidationError):
        lease_import(operator=a.operator, content=content, acting_user=a.admin)
    assert not Unit.objects.filter(number="A-9O1").exists()


def test_new_units_are_created_on_the_operators_own_property_with_an_audit_row_each(a, tenants):
    _a, b = tenants
    # B has a building of the same name: the import can only ever reach A's.
    b_twin = PropertyFactory(operator=b.operator, name=PROP)
    content = (
        HEADER + row("701", "090-2000-0001", "2027-01-01") + row("701", "090-2000-0002", "2026-01-01", "2026-12-31")
    )
    content += row("702", "090-2000-0003", "2027-01-01")

    result = lease_import(operator=a.operator, content=content, acting_user=a.admin, create_units=True)

    assert (result.created, result.units_created) == (3, 2)
    units = Unit.objects.filter(number__in=["701", "702"])
    assert {unit.property for unit in units} == {a.objects["tenancy.Property"]}
    assert not Unit.objects.filter(property=b_twin).exists()
    entries = AuditLogEntry.objects.filter(target_label__startswith="住戸 ").order_by("pk")
    assert [(entry.target_label, entry.operator, entry.actor) for entry in entries] == [
        (f"住戸 {PROP} 701", a.operator, a.admin),
        (f"住戸 {PROP} 702", a.operator, a.admin),
    ]


def test_the_tick_is_kept_with_the_previewed_file_not_taken_from_the_confirmation(client, a):
    client.force_login(a.admin)
    content = HEADER + row("703", "090-2000-0001", "2027-01-01")
    file = SimpleUploadedFile("roster.csv", content.encode(), "text/csv")
    refused = client.post(IMPORT_URL, {"file": file})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "「登録されていない住戸を作成する」にチェック" in refused.content.decode()

    file = SimpleUploadedFile("roster.csv", content.encode(), "text/csv")
    previewed = client.post(IMPORT_URL, {"file": file, "create_units": "on"})
    assert "新しい住戸 1件を作成" in previewed.content.decode()
    token = previewed.context["confirm_form"].initial["token"]
    assert client.post(IMPORT_URL, {"token": token}).status_code == HTTPStatus.FOUND
    assert Unit.objects.filter(property__operator=a.operator, number="703").exists()


# Phone numbers: the sign-in's rule
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("landline", ["03-1234-5678", "0120-444-444", "+1 202 555 0123"])
def test_a_number_the_sign_in_refuses_is_an_error_of_its_cell(a, vacant, landline):
    assert errors_of(a.operator, HEADER + row("A-902", landline, "2028-01-01")) == [
        f"2行目「入居者電話番号」: {NOT_MOBILE}"
    ]


def test_a_mobile_number_in_full_width_digits_is_read_as_the_sign_in_reads_it(a, vacant):
    plan = lease_import_preview(
        operator=a.operator, content=HEADER + row("A-902", "０９０-２０００-０００１", "2028-01-01")
    )

    assert plan.is_valid and plan.rows[0].phone_number == "+819020000001"


# The export imports again unchanged
# ------------------------------------------------------------------------------


def _roster_state(operator) -> tuple[list, list, list]:
    leases = Lease.objects.filter(unit__property__operator=operator).order_by("pk")
    return (
        list(Property.objects.filter(operator=operator).order_by("pk").values_list("pk", "name")),
        list(Unit.objects.filter(property__operator=operator).order_by("pk").values_list("pk", "property", "number")),
        list(leases.values_list("pk", "unit", "phone_number", "attribute", "start_date", "end_date", "acceptance")),
    )


def test_exporting_then_importing_the_same_file_changes_nothing(client, a, vacant):
    # Names our export guards against formulas, and one that only looks guarded.
    for number, name in [("=1+1", "=SUM(A1)"), ("-12", "+81 ビル"), ("@A", "'引用符ビル"), ("'B", "@メゾン")]:
        unit = UnitFactory(property=PropertyFactory(operator=a.operator, name=name), number=number)
        LeaseFactory(unit=unit, attribute=attribute("managed"), end_date=datetime.date(2030, 1, 1))
    # A declined entry overlapping the unit's pending one: both are the operator's records, and stay.
    LeaseFactory(unit=vacant, start_date=datetime.date(2026, 5, 1), acceptance=Lease.Acceptance.DECLINED)
    client.force_login(a.admin)
    exported = b"".join(client.get(EXPORT_URL).streaming_content)
    assert "'=SUM(A1)" in exported.decode("utf-8-sig") and "''引用符ビル" in exported.decode("utf-8-sig")
    before = _roster_state(a.operator)

    previewed = client.post(IMPORT_URL, {"file": SimpleUploadedFile("roster.csv", exported, "text/csv")})

    assert previewed.status_code == HTTPStatus.OK, [str(error) for error in previewed.context["plan"].errors]
    plan = previewed.context["plan"]
    assert (plan.creates, plan.new_units, plan.updates) == (0, 0, len(before[2]))
    token = previewed.context["confirm_form"].initial["token"]
    assert client.post(IMPORT_URL, {"token": token}).status_code == HTTPStatus.FOUND
    assert _roster_state(a.operator) == before
    # And once more: the second export is the first, byte for byte.
    assert b"".join(client.get(EXPORT_URL).streaming_content) == exported


def test_an_apostrophe_our_export_did_not_write_is_part_of_the_value(a):
    PropertyFactory(operator=a.operator, name="'本館")
    content = HEADER + row("101", "090-2000-0001", "2027-01-01", prop="'本館")

    plan = lease_import_preview(operator=a.operator, content=content, create_units=True)

    assert plan.is_valid and plan.rows[0].property.name == "'本館"


def test_a_guarded_cell_is_read_as_the_formula_text(a):
    PropertyFactory(operator=a.operator, name="=HYPERLINK(1)")
    content = HEADER + row("101", "090-2000-0001", "2027-01-01", prop="'=HYPERLINK(1)")

    plan = lease_import_preview(operator=a.operator, content=content, create_units=True)

    assert plan.is_valid and plan.rows[0].property.name == "=HYPERLINK(1)"


# A lease entered by hand
# ------------------------------------------------------------------------------


def add_lease_by_hand(client, unit, number: str):
    data = {"unit": unit.pk, "phone_number": number, "attribute": attribute("rental_resident").pk}
    return client.post(reverse("admin:tenancy_lease_add"), {**data, "start_date": "2028-01-01"})


def test_a_lease_entered_by_hand_takes_a_mobile_number(client, a, vacant):
    client.force_login(a.admin)

    assert add_lease_by_hand(client, vacant, "090-2000-0001").status_code == HTTPStatus.FOUND
    assert Lease.objects.filter(unit=vacant, phone_number="+819020000001").exists()


def test_a_lease_entered_by_hand_refuses_a_number_the_sign_in_refuses(client, a, vacant):
    client.force_login(a.admin)

    response = add_lease_by_hand(client, vacant, "03-1234-5678")

    assert response.context["adminform"].form.errors["phone_number"] == [NOT_MOBILE]
    assert Lease.objects.filter(unit=vacant).count() == 1
