"""The operator's roster as CSV: import of leases (preview, then all-or-nothing) and export.

Our own small importer rather than django-import-export: the rules are few and ours
(scope to one operator, units created on the fly, phone numbers in Japanese formats,
errors naming the row and the column in Japanese), the package is not installed, and
its admin integration would bypass the operator scoping we apply to every admin view.

The file is a header row then one lease per row. Columns (English key or Japanese label):
property/物件名, unit/部屋番号, phone_number/入居者電話番号, attribute/ユーザー属性
(code or name), start_date/契約開始日, end_date/契約終了日 (empty = no end). A row whose
unit, phone number and start date match an existing lease updates it; otherwise it adds one.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from phonenumber_field.phonenumber import PhoneNumber
from phonenumber_field.phonenumber import to_python as phone_to_python

from myspacecore.tenancy.models import AuditLogEntry, Lease, Operator, Property, Unit
from myspacecore.tenancy.services.audit import audit_log_record

if TYPE_CHECKING:
    from accounts.models import User, UserAttribute

MAX_ROWS = 10_000
MAX_BYTES = 2 * 1024 * 1024

# (key, Japanese label): the export writes the labels, the import accepts either.
COLUMNS = [
    ("property", "物件名"),
    ("unit", "部屋番号"),
    ("phone_number", "入居者電話番号"),
    ("attribute", "ユーザー属性"),
    ("start_date", "契約開始日"),
    ("end_date", "契約終了日"),
]
REQUIRED = ("property", "unit", "phone_number", "attribute", "start_date")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")
# Cells a spreadsheet would run as a formula (CSV injection) get a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("%(row)d行目「%(column)s」: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class PlannedLease:
    row: int
    property: Property
    unit_number: str
    unit: Unit | None  # None: the unit is created by the import
    phone_number: str
    attribute: UserAttribute
    start_date: datetime.date
    end_date: datetime.date | None
    existing: Lease | None  # not None: this row updates that lease

    @property
    def creates_unit(self) -> bool:
        return self.unit is None


@dataclass
class LeaseImportPlan:
    """What an import would do, computed without writing anything (the preview)."""

    rows: list[PlannedLease] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def creates(self) -> int:
        return sum(1 for row in self.rows if row.existing is None)

    @property
    def updates(self) -> int:
        return sum(1 for row in self.rows if row.existing is not None)


def roster_csv_decode(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes) or Shift_JIS (cp932, Japanese Excel's default)."""
    if len(raw) > MAX_BYTES:
        raise ValidationError(_("ファイルが大きすぎます（%(max)d MB まで）。") % {"max": MAX_BYTES // (1024 * 1024)})
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。"))


def _parse_date(value: str) -> datetime.date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _header_keys(header: list[str]) -> tuple[dict[str, int], dict[str, str], list[RowError]]:
    """Column index and displayed name of each key, from a header of keys or Japanese labels."""
    by_name = {}
    for key, label in COLUMNS:
        by_name[key] = key
        by_name[label] = key
    index, names, errors = {}, {}, []
    for position, name in enumerate(header):
        key = by_name.get(name.strip())
        if key is None:
            errors.append(RowError(1, name.strip(), _("不明な列です。")))
        elif key in index:
            errors.append(RowError(1, name.strip(), _("同じ列が2回あります。")))
        else:
            index[key] = position
            names[key] = name.strip()
    for key, label in COLUMNS:
        if key in REQUIRED and key not in index:
            errors.append(RowError(1, label, _("必須の列がありません。")))
    return index, names, errors


def lease_import_preview(*, operator: Operator, content: str) -> LeaseImportPlan:
    """Validate every row of the CSV against the operator's roster and say what the import would do.

    Reads only. Properties must already be on the operator's roster (a typo must not
    create a building); a unit number not yet on the property is created by the import.
    """
    plan = LeaseImportPlan()
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if not header:
        plan.errors.append(RowError(1, "-", _("ファイルが空です。")))
        return plan
    index, names, header_errors = _header_keys(header)
    if header_errors:
        plan.errors.extend(header_errors)
        return plan

    records = []
    for line_number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(records) >= MAX_ROWS:
            plan.errors.append(RowError(line_number, "-", _("行数が多すぎます（%(max)d行まで）。") % {"max": MAX_ROWS}))
            return plan
        records.append((line_number, record))
    if not records:
        plan.errors.append(RowError(2, "-", _("取り込む行がありません。")))
        return plan

    properties = {prop.name: prop for prop in Property.objects.filter(operator=operator)}
    units = {(unit.property_id, unit.number): unit for unit in Unit.objects.filter(property__operator=operator)}
    attributes = {}
    # accounts' attribute model, as the lease names it: tenancy sits below accounts.
    for attribute in Lease._meta.get_field("attribute").related_model.objects.all():
        attributes[attribute.code] = attribute
        attributes[attribute.name] = attribute
    parsed = []
    for line_number, record in records:
        row = _row_parse(
            line_number=line_number,
            cells={key: (record[i].strip() if i < len(record) else "") for key, i in index.items()},
            names=names,
            properties=properties,
            attributes=attributes,
            errors=plan.errors,
        )
        if row is not None:
            parsed.append(row)

    existing = _existing_leases(operator=operator, rows=parsed)
    seen: dict[tuple, int] = {}
    for row in parsed:
        prop, unit_number, phone, attribute, start, end = row["values"]
        key = (prop.pk, unit_number, phone, start)
        if key in seen:
            plan.errors.append(
                RowError(row["line"], names["phone_number"], _("%(row)d行目と同じ入居契約です。") % {"row": seen[key]})
            )
            continue
        seen[key] = row["line"]
        unit = units.get((prop.pk, unit_number))
        plan.rows.append(
            PlannedLease(
                row=row["line"],
                property=prop,
                unit_number=unit_number,
                unit=unit,
                phone_number=phone,
                attribute=attribute,
                start_date=start,
                end_date=end,
                existing=existing.get((unit.pk, phone, start)) if unit else None,
            )
        )
    if plan.errors:
        plan.rows = []
    return plan


def _row_parse(*, line_number, cells, names, properties, attributes, errors) -> dict | None:
    row_errors = []

    def error(key: str, message: str) -> None:
        row_errors.append(RowError(line_number, names.get(key, key), message))

    for key in REQUIRED:
        if not cells.get(key):
            error(key, _("入力してください。"))
    if row_errors:
        errors.extend(row_errors)
        return None
    prop = properties.get(cells["property"])
    if prop is None:
        error("property", _("この物件は登録されていません。先に物件を登録してください。"))
    unit_number = cells["unit"]
    if len(unit_number) > Unit._meta.get_field("number").max_length:
        error("unit", _("部屋番号が長すぎます。"))
    phone = phone_to_python(cells["phone_number"], region="JP")
    if not (isinstance(phone, PhoneNumber) and phone.is_valid()):
        error("phone_number", _("正しい電話番号を入力してください。"))
    attribute = attributes.get(cells["attribute"])
    if attribute is None:
        error("attribute", _("ユーザー属性が正しくありません（コードまたは名称）。"))
    start = _parse_date(cells["start_date"])
    if start is None:
        error("start_date", _("日付は YYYY-MM-DD の形式で入力してください。"))
    end = None
    if cells.get("end_date"):
        end = _parse_date(cells["end_date"])
        if end is None:
            error("end_date", _("日付は YYYY-MM-DD の形式で入力してください。"))
        elif start is not None and end < start:
            error("end_date", _("契約終了日は契約開始日以降にしてください。"))
    if row_errors:
        errors.extend(row_errors)
        return None
    return {"line": line_number, "values": (prop, unit_number, phone.as_e164, attribute, start, end)}


def _existing_leases(*, operator: Operator, rows: list[dict]) -> dict[tuple, Lease]:
    phones = {row["values"][2] for row in rows}
    if not phones:
        return {}
    leases = Lease.objects.filter(unit__property__operator=operator, phone_number__in=phones)
    return {(lease.unit_id, lease.phone_number.as_e164, lease.start_date): lease for lease in leases}


@dataclass(frozen=True)
class LeaseImportResult:
    created: int
    updated: int
    units_created: int


@transaction.atomic
def lease_import(*, operator: Operator, content: str, acting_user: User) -> LeaseImportResult:
    """Import the CSV into the operator's roster: every row or none (one transaction).

    The file is validated again here (the preview may be stale); any error raises
    ValidationError with one message per error, naming the row and the column.
    """
    # Serialise imports of one operator: two at once would both create the same unit.
    Operator.objects.select_for_update().filter(pk=operator.pk).first()
    plan = lease_import_preview(operator=operator, content=content)
    if not plan.is_valid:
        raise ValidationError([str(error) for error in plan.errors] or [_("取り込む行がありません。")])
    created_units: dict[tuple[int, str], Unit] = {}
    to_create, to_update = [], []
    for row in plan.rows:
        unit = row.unit
        if unit is None:
            key = (row.property.pk, row.unit_number)
            if key not in created_units:
                new_unit = Unit(property=row.property, number=row.unit_number)
                new_unit.full_clean()
                new_unit.save()
                created_units[key] = new_unit
            unit = created_units[key]
        if row.existing is not None:
            lease = row.existing
            lease.attribute = row.attribute
            lease.end_date = row.end_date
            to_update.append(lease)
        else:
            lease = Lease(
                unit=unit,
                phone_number=row.phone_number,
                attribute=row.attribute,
                start_date=row.start_date,
                end_date=row.end_date,
            )
            to_create.append(lease)
        # The foreign keys come from rows loaded above: skip their one-query-per-row checks.
        lease.full_clean(exclude=["unit", "attribute", "resident"])
    Lease.objects.bulk_create(to_create, batch_size=1000)
    Lease.objects.bulk_update(to_update, ["attribute", "end_date"], batch_size=1000)
    result = LeaseImportResult(created=len(to_create), updated=len(to_update), units_created=len(created_units))
    audit_log_record(
        actor=acting_user,
        operator=operator,
        action=AuditLogEntry.Action.LEASE_IMPORT,
        target_label=ngettext("入居契約 %(count)d件", "入居契約 %(count)d件", len(plan.rows))
        % {"count": len(plan.rows)},
        new_value=f"created={result.created} updated={result.updated} units_created={result.units_created}",
    )
    return result


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def roster_csv_rows(*, leases: Iterable[Lease]) -> Iterator[list[str]]:
    """The header then one row per lease, in the import's format (national phone format, no `+`).

    `leases` should be an `.iterator()` with `unit__property` and `attribute` selected,
    so an export of any size runs in constant memory.
    """
    yield [label for _key, label in COLUMNS]
    for lease in leases:
        yield [
            _cell(lease.unit.property.name),
            _cell(lease.unit.number),
            lease.phone_number.as_national if lease.phone_number else "",
            lease.attribute.code,
            lease.start_date.isoformat(),
            lease.end_date.isoformat() if lease.end_date else "",
        ]
