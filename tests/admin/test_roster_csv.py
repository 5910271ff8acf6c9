"""CSV import of leases (preview, per-row errors, all or nothing) and the roster export."""

from __future__ import annotations

import csv
import io
import re
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from myspacecore.tenancy.models import AuditLogEntry, Lease, Unit
from myspacecore.tenancy.services.roster import lease_import, lease_import_preview, roster_upload_keep
from tests.factories import UnitFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:tenancy_lease_import")
EXPORT_URL = reverse("admin:tenancy_lease_export")
HEADER = "物件名,部屋番号,入居者電話番号,ユーザー属性,契約開始日,契約終了日\n"
ROW_A = "A-PROPERTY メゾン,A-902,090-2000-0001,rental_resident,2026-04-01,\n"


@pytest.fixture(autouse=True)
def vacant_unit(tenants):
    """A unit of A with no lease: a new lease there overlaps nothing (A-901 has a current one)."""
    a, _b = tenants
    return UnitFactory(property=a.objects["tenancy.Property"], number="A-902")


def upload(client, content: str, encoding: str = "utf-8", **data):
    file = SimpleUploadedFile("roster.csv", content.encode(encoding), "text/csv")
    return client.post(IMPORT_URL, {"file": file, **data})


def test_preview_lists_what_would_change_and_writes_nothing(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    content = HEADER + ROW_A
    content += "A-PROPERTY メゾン,302,090-2000-0002,managed,2026/04/01,2027-03-31\n"
    before = Lease.objects.count()
    # Unit 302 is not on the property: created only because the operator ticked it.
    response = upload(client, content, create_units="on")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "追加 2件" in page and "（新しい住戸）" in page and "新しい住戸 1件を作成" in page
    assert Lease.objects.count() == before
    assert not Unit.objects.filter(number="302").exists()

    confirm = response.context["confirm_form"]
    done = client.post(IMPORT_URL, {"token": confirm.initial["token"]})
    assert done.status_code == HTTPStatus.FOUND
    assert Lease.objects.count() == before + 2
    new_unit = Unit.objects.get(number="302")
    assert new_unit.property.operator == a.operator
    assert Lease.objects.get(phone_number="+819020000002").end_date.isoformat() == "2027-03-31"
    unit_entry, entry = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.LEASE_IMPORT).order_by("-pk")[:2][::-1]
    assert entry.operator == a.operator and entry.new_value == "created=2 updated=0 units_created=1"
    assert (unit_entry.operator, unit_entry.target_label, unit_entry.actor) == (a.operator, f"住戸 {new_unit}", a.admin)


def test_errors_name_the_row_and_the_column_and_nothing_is_imported(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    content = HEADER
    content += "A-PROPERTY メゾン,A-901,090-2000-0001,rental_resident,2026-04-01,\n"
    content += "A-PROPERTY メゾン,A-902,電話,rental_resident,2026-04-01,\n"
    content += "B-PROPERTY メゾン,B-901,090-2000-0003,owner,2026-04-01,\n"
    content += "A-PROPERTY メゾン,A-903,090-2000-0004,tenant,04/01/2026,2025-01-01\n"
    before = Lease.objects.count()
    response = upload(client, content)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = response.content.decode()
    assert "3行目「入居者電話番号」: 正しい電話番号を入力してください。" in page
    # Another operator's building is not on this roster: it is simply unknown.
    assert "4行目「物件名」: この物件は登録されていません。" in page
    assert "5行目「ユーザー属性」" in page and "5行目「契約開始日」" in page
    assert "confirm_form" not in response.context or response.context.get("confirm_form") is None
    assert Lease.objects.count() == before


def test_import_is_all_or_nothing_when_the_file_changed_after_the_preview(tenants):
    a, _b = tenants
    content = HEADER + ROW_A
    content += "A-PROPERTY メゾン,777,090-2000-0002,rental_resident,2026-04-01,2026-01-01\n"
    before = (Lease.objects.count(), Unit.objects.count())
    with pytest.raises(ValidationError) as error:
        lease_import(operator=a.operator, content=content, acting_user=a.admin, create_units=True)
    assert error.value.messages == ["3行目「契約終了日」: 契約終了日は契約開始日以降にしてください。"]
    assert (Lease.objects.count(), Unit.objects.count()) == before


def test_a_row_matching_an_existing_lease_updates_it(tenants):
    a, _b = tenants
    lease = a.objects["tenancy.Lease"]
    content = "property,unit,phone_number,attribute,start_date,end_date\n"
    content += f"A-PROPERTY メゾン,A-901,{lease.phone_number.as_national},managed,{lease.start_date},2030-12-31\n"
    plan = lease_import_preview(operator=a.operator, content=content)
    assert plan.updates == 1 and plan.creates == 0
    lease_import(operator=a.operator, content=content, acting_user=a.admin)
    lease.refresh_from_db()
    assert lease.attribute.code == "managed" and lease.end_date.isoformat() == "2030-12-31"


def test_duplicate_rows_and_bad_headers_are_reported(tenants):
    a, _b = tenants
    row = ROW_A
    plan = lease_import_preview(operator=a.operator, content=HEADER + row + row)
    assert [str(error) for error in plan.errors] == ["3行目「入居者電話番号」: 2行目と同じ入居契約です。"]
    plan = lease_import_preview(operator=a.operator, content="物件名,部屋,電話\n" + row)
    messages = [str(error) for error in plan.errors]
    assert "1行目「部屋」: 不明な列です。" in messages
    assert "1行目「部屋番号」: 必須の列がありません。" in messages


def test_the_preview_of_a_file_with_errors_shows_every_line_with_its_own(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    content = HEADER + ROW_A + "A-PROPERTY メゾン,A-902,電話,rental_resident,2026-04-01,2026-01-01\n"
    response = upload(client, content)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.context.get("confirm_form") is None
    lines = response.context["plan"].lines
    assert [line.line for line in lines] == [2, 3]
    assert lines[0].errors == [] and lines[0].row.phone_number == "+819020000001"
    assert [(error.line, error.column) for error in lines[1].errors] == [(3, "入居者電話番号")]
    rows = re.findall(r"<tr>.*?</tr>", response.content.decode().split('id="import-preview"')[1], re.DOTALL)
    assert len(rows) == 1 + 2  # the header and both lines
    assert "「入居者電話番号」: 正しい電話番号を入力してください。" in rows[2]


def test_a_cell_over_the_csv_field_limit_is_an_error_of_the_file(tenants):
    a, _b = tenants
    plan = lease_import_preview(operator=a.operator, content=HEADER + ROW_A + "x" * 200_000 + ",A-902\n")
    assert [str(error) for error in plan.errors] == ["3行目「-」: CSVとして読めない行です。"]
    assert not plan.is_valid


def test_a_unit_number_longer_than_the_field_is_an_error_of_its_cell(tenants):
    a, _b = tenants
    too_long = "9" * (Unit._meta.get_field("number").max_length + 1)
    row = f"A-PROPERTY メゾン,{too_long},090-2000-0001,rental_resident,2026-04-01,\n"
    plan = lease_import_preview(operator=a.operator, content=HEADER + row)
    assert [str(error) for error in plan.errors] == ["2行目「部屋番号」: 部屋番号が長すぎます。"]


def test_a_unit_number_field_without_a_length_limit_takes_a_long_number(tenants, monkeypatch):
    """max_length is optional on a CharField: None means no limit, not a TypeError in the preview."""
    a, _b = tenants
    monkeypatch.setattr(Unit._meta.get_field("number"), "max_length", None)
    row = f"A-PROPERTY メゾン,{'9' * 40},090-2000-0001,rental_resident,2026-04-01,\n"
    plan = lease_import_preview(operator=a.operator, content=HEADER + row, create_units=True)
    assert plan.errors == [] and plan.lines[0].row.unit_number == "9" * 40


def test_shift_jis_files_from_excel_are_read(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    content = HEADER + "A-PROPERTY メゾン,A-902,090-2000-0001,賃貸入居者,2026-04-01,\n"
    response = upload(client, content, encoding="cp932")
    assert response.status_code == HTTPStatus.OK
    assert "追加 1件" in response.content.decode()


def test_an_unreadable_file_is_an_error_next_to_the_field(client, tenants):
    a, _b = tenants
    client.force_login(a.admin)
    response = client.post(IMPORT_URL, {"file": SimpleUploadedFile("x.csv", b"\x81\x20\x81\x20", "text/csv")})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "文字コードを判別できません" in response.content.decode()


def test_operator_staff_cannot_import(client, tenants):
    a, _b = tenants
    client.force_login(a.staff)
    assert client.get(IMPORT_URL).status_code == HTTPStatus.FORBIDDEN


def test_a_forged_confirmation_for_another_operator_is_refused(client, tenants):
    a, b = tenants
    client.force_login(a.admin)
    content = HEADER + "B-PROPERTY メゾン,B-901,090-2000-0009,owner,2026-04-01,\n"
    # The console never keeps a file of B for A: plant one, as a forged confirmation would need.
    token = roster_upload_keep(user=a.admin, operator=b.operator, content=content)
    response = client.post(IMPORT_URL, {"token": token})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not Lease.objects.filter(phone_number="+819020000009").exists()


def test_export_is_the_operators_roster_in_the_import_format(client, tenants):
    a, _b = tenants
    Lease.objects.filter(pk=a.objects["tenancy.Lease"].pk).update(end_date="2030-01-01")
    client.force_login(a.staff)
    response = client.get(EXPORT_URL)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["物件名", "部屋番号", "入居者電話番号", "ユーザー属性", "契約開始日", "契約終了日"]
    assert len(rows) == 2 and rows[1][:2] == ["A-PROPERTY メゾン", "A-901"]
    assert "B-" not in text
    # What was exported imports again as an update of the same lease.
    plan = lease_import_preview(operator=a.operator, content=text)
    assert plan.is_valid and plan.updates == 1


def test_export_neutralises_spreadsheet_formulas(client, tenants):
    a, _b = tenants
    prop = a.objects["tenancy.Property"]
    prop.name = "=HYPERLINK(1)"
    prop.save()
    client.force_login(a.admin)
    text = b"".join(client.get(EXPORT_URL).streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


def test_a_file_over_the_size_limit_is_refused_next_to_the_field(client, tenants):
    from myspacecore.tenancy.services.roster import MAX_BYTES

    a, _b = tenants
    client.force_login(a.admin)
    response = upload(client, HEADER + "x" * MAX_BYTES)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "ファイルが大きすぎます" in response.content.decode()


def test_the_lease_list_offers_the_import_only_to_who_may_import(client, tenants):
    a, _b = tenants
    changelist = reverse("admin:tenancy_lease_changelist")
    client.force_login(a.admin)
    assert IMPORT_URL in client.get(changelist).content.decode()

    client.force_login(a.staff)
    page = client.get(changelist)
    assert page.status_code == HTTPStatus.OK
    assert IMPORT_URL not in page.content.decode()
    assert client.get(IMPORT_URL).status_code == HTTPStatus.FORBIDDEN
