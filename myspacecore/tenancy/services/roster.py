"""The operator's roster as CSV: import of leases (upload, preview, confirm) and export.

Our own small importer rather than django-import-export: the rules are few and ours
(scope to one operator, units created on the fly, phone numbers in Japanese formats,
errors naming the row and the column in Japanese), the package is not installed, and
its admin integration would bypass the operator scoping we apply to every admin view.
Its shape is the package's admin import, though:

1. upload: the console decodes the file (`roster_csv_decode`) and previews it;
2. preview: `lease_import_preview` reads every line into a `RosterLine` (the cells as
   written, the typed `RosterRow` once they parse, its `RowError`s) and writes nothing.
   A clean preview is kept server-side (`roster_upload_keep`) under a token bound to the
   staff member and the operator; only the token goes back to the browser;
3. confirm: `roster_upload_take` hands the upload over once, and `lease_import` checks
   it again and writes every row or none.

Checks are lists of small functions: a check of one row goes in `ROW_CHECKS`, a check
across the rows of the file and the roster (duplicates, overlaps) in `ROSTER_CHECKS`. The
domain's rules, each an error naming the row (and the other row or lease):

- a unit not on the property is an error, unless the operator ticked "create missing units"
  (then the import creates it, on that operator's property, with an audit row);
- a lease may not overlap another lease of the same unit, nor another lease of the same phone
  number of this operator, whether the other is a row of the file or already on the roster (a
  declined lease is not counted; nor a pair the file leaves as it was, so an export always
  imports again);
- a phone number must be a Japanese mobile number, the sign-in's own rule
  (`myspacecore.core.phone_numbers`);
- a cell our export guarded against formulas (`'=...`) is read back as its value.

The file is a header row then one lease per row. Columns (English key or Japanese label):
property/物件名, unit/部屋番号, phone_number/入居者電話番号, attribute/ユーザー属性
(code or name), start_date/契約開始日, end_date/契約終了日 (empty = no end). A row whose
unit, phone number and start date match an existing lease updates it; otherwise it adds one.
Exporting the roster and importing the file again changes nothing.
"""

from __future__ import annotations

import builtins
import csv
import datetime
import io
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from phonenumber_field.phonenumber import PhoneNumber
from phonenumber_field.phonenumber import to_python as phone_to_python

from myspacecore.core.phone_numbers import jp_mobile_validate
from myspacecore.tenancy.models import AuditLogEntry, Lease, Operator, Property, Unit, lease_period_clashes
from myspacecore.tenancy.services.audit import audit_log_record

if TYPE_CHECKING:
    from accounts.models import User, UserAttribute

MAX_ROWS = 10_000
MAX_BYTES = 2 * 1024 * 1024
# How long a previewed file waits for its confirmation.
UPLOAD_LIFETIME = datetime.timedelta(minutes=30)

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
COLUMN_KEYS = {name: key for key, label in COLUMNS for name in (key, label)}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")
# Cells a spreadsheet would run as a formula (CSV injection) get a leading apostrophe, and so
# does a cell that starts with one, so the import can take exactly one off what the export added.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_GUARD = "'"


# What a preview is made of
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem of the file: its line (1 is the header), the column as the file names it, what is wrong."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("%(row)d行目「%(column)s」: %(message)s") % {
            "row": self.line,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class RosterRow:
    """One lease of the file, typed: what the import writes for that line."""

    line: int
    property: Property
    unit_number: str
    phone_number: str  # E.164
    attribute: UserAttribute
    start_date: datetime.date
    end_date: datetime.date | None
    unit: Unit | None = None  # None: the import creates the unit
    existing: Lease | None = None  # not None: this row updates that lease

    # `builtins.property`: in this class body `property` is the field above, and once that
    # field had a default, a bare `@property` would decorate with the Property model.
    @builtins.property
    def creates_unit(self) -> bool:
        return self.unit is None


@dataclass
class RosterLine:
    """One line of the file as the preview shows it: the cells as written, the typed row once
    every cell parses (None before), and the errors of the line."""

    line: int
    cells: dict[str, str]
    row: RosterRow | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass
class LeaseImportPlan:
    """What an import would do, computed without writing anything (the preview)."""

    lines: list[RosterLine] = field(default_factory=list)
    file_errors: list[RowError] = field(default_factory=list)  # the file as a whole: header, size

    @property
    def errors(self) -> list[RowError]:
        return [*self.file_errors, *(error for line in self.lines for error in line.errors)]

    @property
    def rows(self) -> list[RosterRow]:
        return [line.row for line in self.lines if line.row is not None and not line.errors]

    @property
    def is_valid(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def creates(self) -> int:
        return sum(1 for row in self.rows if row.existing is None)

    @property
    def updates(self) -> int:
        return sum(1 for row in self.rows if row.existing is not None)

    @property
    def new_units(self) -> int:
        return len({(row.property.pk, row.unit_number) for row in self.rows if row.creates_unit})


@dataclass(frozen=True)
class RosterHeader:
    """Where each column is in the file, and its name as the file writes it (key or label)."""

    positions: dict[str, int]
    names: dict[str, str]

    def cells(self, record: list[str]) -> dict[str, str]:
        """Every column's cell of one record, stripped; "" for a cell or column that is not there."""
        cells = dict.fromkeys((key for key, _label in COLUMNS), "")
        for key, position in self.positions.items():
            if position < len(record):
                cells[key] = _cell_unguard(record[position].strip())
        return cells


def _cell_unguard(text: str) -> str:
    """A cell as our export's formula guard wrote it, back to its value; any other cell as it is."""
    rest = text.removeprefix(FORMULA_GUARD)
    return rest if rest != text and rest.startswith((*FORMULA_PREFIXES, FORMULA_GUARD)) else text


@dataclass(frozen=True)
class RosterContext:
    """What the lines are checked against: the operator's roster, read once per preview."""

    operator: Operator
    header: RosterHeader
    properties: dict[str, Property]
    units: dict[tuple[int, str], Unit]
    attributes: dict[str, UserAttribute]  # by code and by name
    # The operator ticked "create missing units": a unit number not on its property is created.
    create_units: bool = False
    # What the overlap checks read of the roster, read once per preview (`_operator_leases`).
    lease_cache: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def error(self, line: int, key: str, message: str) -> RowError:
        return RowError(line, self.header.names.get(key, key), message)


class _FileRefused(Exception):
    """The file as a whole cannot be previewed: its errors are the whole preview."""

    def __init__(self, *errors: RowError) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = list(errors)


# Reading the file
# ------------------------------------------------------------------------------


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


def _header_read(record: list[str] | None) -> RosterHeader:
    """The header row, of keys or Japanese labels: every unknown, repeated or missing column refuses the file."""
    if not record:
        raise _FileRefused(RowError(1, "-", _("ファイルが空です。")))
    positions: dict[str, int] = {}
    names: dict[str, str] = {}
    errors = []
    for position, cell in enumerate(record):
        name = cell.strip()
        key = COLUMN_KEYS.get(name)
        if key is None:
            errors.append(RowError(1, name, _("不明な列です。")))
        elif key in positions:
            errors.append(RowError(1, name, _("同じ列が2回あります。")))
        else:
            positions[key] = position
            names[key] = name
    errors += [
        RowError(1, label, _("必須の列がありません。"))
        for key, label in COLUMNS
        if key in REQUIRED and key not in positions
    ]
    if errors:
        raise _FileRefused(*errors)
    return RosterHeader(positions=positions, names=names)


def _records_read(reader: Iterator[list[str]], header: RosterHeader) -> list[tuple[int, dict[str, str]]]:
    """(line number, cells) of each non-blank record, up to MAX_ROWS of them."""
    records: list[tuple[int, dict[str, str]]] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(records) >= MAX_ROWS:
            raise _FileRefused(RowError(line, "-", _("行数が多すぎます（%(max)d行まで）。") % {"max": MAX_ROWS}))
        records.append((line, header.cells(record)))
    if not records:
        raise _FileRefused(RowError(2, "-", _("取り込む行がありません。")))
    return records


def _file_read(content: str) -> tuple[RosterHeader, list[tuple[int, dict[str, str]]]]:
    """The header and the records of the file, or _FileRefused."""
    reader = csv.reader(io.StringIO(content))
    try:
        header = _header_read(next(reader, None))
        return header, _records_read(reader, header)
    except csv.Error:
        # e.g. a cell over the csv module's field limit (128 KiB): a refusal, not a server error.
        raise _FileRefused(RowError(reader.line_num, "-", _("CSVとして読めない行です。"))) from None


# Reading the cells: one parser per column, each raising ValidationError with the cell's message
# ------------------------------------------------------------------------------


def _property_parse(text: str, roster: RosterContext) -> Property:
    # Only a building already on the operator's roster: a typo must not create one.
    prop = roster.properties.get(text)
    if prop is None:
        raise ValidationError(_("この物件は登録されていません。先に物件を登録してください。"))
    return prop


def _unit_number_parse(text: str, roster: RosterContext) -> str:
    # The model's limit, read from the field; a CharField may have none (max_length None).
    max_length = Unit._meta.get_field("number").max_length
    if max_length is not None and len(text) > max_length:
        raise ValidationError(_("部屋番号が長すぎます。"))
    return text


def _phone_number_parse(text: str, roster: RosterContext) -> str:
    phone = phone_to_python(text, region="JP")
    if not (isinstance(phone, PhoneNumber) and phone.is_valid()):
        raise ValidationError(_("正しい電話番号を入力してください。"))
    # The sign-in's rule: a number it would refuse could never accept the lease.
    jp_mobile_validate(phone)
    return phone.as_e164


def _attribute_parse(text: str, roster: RosterContext) -> UserAttribute:
    attribute = roster.attributes.get(text)
    if attribute is None:
        raise ValidationError(_("ユーザー属性が正しくありません（コードまたは名称）。"))
    return attribute


def _date_parse(text: str, roster: RosterContext) -> datetime.date:
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(_("日付は YYYY-MM-DD の形式で入力してください。"))


CELL_PARSERS: dict[str, Callable[[str, RosterContext], Any]] = {
    "property": _property_parse,
    "unit": _unit_number_parse,
    "phone_number": _phone_number_parse,
    "attribute": _attribute_parse,
    "start_date": _date_parse,
    "end_date": _date_parse,
}


# The checks: of one typed row, then across the rows of the file
# ------------------------------------------------------------------------------


def _end_not_before_start(row: RosterRow, roster: RosterContext) -> Iterator[RowError]:
    if row.end_date is not None and row.end_date < row.start_date:
        yield roster.error(row.line, "end_date", _("契約終了日は契約開始日以降にしてください。"))


def _unit_on_roster(row: RosterRow, roster: RosterContext) -> Iterator[RowError]:
    """A unit number not on the property: a typo, unless the operator asked for new units."""
    if row.unit is None and not roster.create_units:
        message = _(
            "この部屋番号の住戸は物件に登録されていません。部屋番号を確認するか、"
            "「登録されていない住戸を作成する」にチェックを入れて、もう一度アップロードしてください。"
        )
        yield roster.error(row.line, "unit", message)


def _no_repeated_lease(rows: list[RosterRow], roster: RosterContext) -> Iterator[RowError]:
    """The same unit, phone number and start date twice: the second is an error naming the first."""
    seen: dict[tuple[int, str, str, datetime.date], int] = {}
    for row in rows:
        key = (row.property.pk, row.unit_number, row.phone_number, row.start_date)
        if key in seen:
            message = _("%(row)d行目と同じ入居契約です。") % {"row": seen[key]}
            yield roster.error(row.line, "phone_number", message)
        else:
            seen[key] = row.line


@dataclass(frozen=True)
class HeldLease:
    """A lease of the roster that no row of the file rewrites, as the overlap checks see it."""

    start_date: datetime.date
    end_date: datetime.date | None
    unit_label: str

    def __str__(self) -> str:
        end = self.end_date.isoformat() if self.end_date else ""
        return f"{self.unit_label} {self.start_date.isoformat()}〜{end}"


def _changes_dates(period: RosterRow | HeldLease) -> bool:
    """A row that adds a lease or moves an end date; what the file leaves as it was is not re-judged."""
    if not isinstance(period, RosterRow):
        return False
    return period.existing is None or period.existing.end_date != period.end_date


def _phone_text() -> Cast:
    """A lease's number as stored (E.164, PHONENUMBER_DB_FORMAT), as text: no PhoneNumber parsed
    or formatted per lease, which costs seconds at 10,000 rows."""
    return Cast("phone_number", output_field=CharField())


_HELD_COLUMNS = (
    "pk",
    "unit__property_id",
    "unit__number",
    "unit__property__name",
    "phone_text",
    "start_date",
    "end_date",
)


def _operator_leases(rows: list[RosterRow], roster: RosterContext) -> list[tuple[Any, ...]]:
    """The operator's leases that could overlap a row (not declined, not ended before the file's
    first start), read once per preview: one query, whatever the file's size."""
    if "leases" not in roster.lease_cache:
        leases = (
            Lease.objects.filter(unit__property__operator=roster.operator)
            .exclude(acceptance=Lease.Acceptance.DECLINED)
            .not_ended(min(row.start_date for row in rows))
            .annotate(phone_text=_phone_text())
            .values_list(*_HELD_COLUMNS)
        )
        roster.lease_cache["leases"] = list(leases.iterator(chunk_size=2000))
    return roster.lease_cache["leases"]


def _held_leases(rows: list[RosterRow], roster: RosterContext) -> Iterator[tuple[Any, HeldLease]]:
    """((property id, unit number, phone number), lease) of the operator's leases that could
    overlap a row, except those a row rewrites (the row stands for them)."""
    rewritten = {row.existing.pk for row in rows if row.existing is not None}
    for pk, property_id, number, property_name, phone, start, end in _operator_leases(rows, roster):
        if pk not in rewritten:
            yield (property_id, number, phone), HeldLease(start, end, f"{property_name} {number}")


def _clash_errors(
    periods: list[RosterRow | HeldLease], roster: RosterContext, *, column: str, with_row: str, with_lease: str
) -> Iterator[RowError]:
    """One error per row of `periods` whose new dates overlap another period, naming the other."""
    reported: set[int] = set()
    for period, partner in lease_period_clashes(periods, checked=_changes_dates):
        row, other = (period, partner) if _changes_dates(period) else (partner, period)
        if not isinstance(row, RosterRow) or row.line in reported:
            continue
        reported.add(row.line)
        message = with_row % {"row": other.line} if isinstance(other, RosterRow) else with_lease % {"lease": other}
        yield roster.error(row.line, column, message)


def _in_force_rows(rows: list[RosterRow]) -> list[RosterRow]:
    # A lease its resident declined ("this is not me") grants nothing and blocks nothing.
    return [row for row in rows if row.existing is None or row.existing.acceptance != Lease.Acceptance.DECLINED]


def _no_overlap_on_a_unit(rows: list[RosterRow], roster: RosterContext) -> Iterator[RowError]:
    """Two leases of one unit on the same day: an error of the row that would make it so."""
    rows = _in_force_rows(rows)
    if not rows:
        return
    by_unit: dict[tuple[int, str], list[RosterRow | HeldLease]] = defaultdict(list)
    for row in rows:
        by_unit[(row.property.pk, row.unit_number)].append(row)
    keys = set(by_unit)
    for (property_id, number, _phone), lease in _held_leases(rows, roster):
        if (property_id, number) in keys:
            by_unit[(property_id, number)].append(lease)
    for periods in by_unit.values():
        yield from _clash_errors(
            periods,
            roster,
            column="unit",
            with_row=_("同じ住戸の%(row)d行目の入居契約と期間が重なっています。"),
            with_lease=_("同じ住戸に期間が重なる入居契約がすでにあります（%(lease)s）。"),
        )


def _no_overlap_of_a_phone_number(rows: list[RosterRow], roster: RosterContext) -> Iterator[RowError]:
    """One number on two of the operator's leases on the same day: an error of the row that would make it so.

    Only this operator's leases: another operator's lease of the same number is a second home
    or a move, and none of this operator's business (it must not even learn of it).
    """
    rows = _in_force_rows(rows)
    if not rows:
        return
    by_phone: dict[str, list[RosterRow | HeldLease]] = defaultdict(list)
    for row in rows:
        by_phone[row.phone_number].append(row)
    for (_property_id, _number, phone), lease in _held_leases(rows, roster):
        if phone in by_phone:
            by_phone[phone].append(lease)
    for periods in by_phone.values():
        yield from _clash_errors(
            periods,
            roster,
            column="phone_number",
            with_row=_("同じ電話番号の%(row)d行目の入居契約と期間が重なっています。"),
            with_lease=_("この電話番号には期間が重なる入居契約がすでにあります（%(lease)s）。"),
        )


# A check of one row (it has every cell typed) or of all the rows (each without an error of its
# own or from an earlier check: one clash is reported once, where it starts).
ROW_CHECKS: list[Callable[[RosterRow, RosterContext], Iterable[RowError]]] = [_end_not_before_start, _unit_on_roster]
ROSTER_CHECKS: list[Callable[[list[RosterRow], RosterContext], Iterable[RowError]]] = [
    _no_repeated_lease,
    _no_overlap_on_a_unit,
    _no_overlap_of_a_phone_number,
]


# The preview
# ------------------------------------------------------------------------------


def _roster_context(*, operator: Operator, header: RosterHeader, create_units: bool) -> RosterContext:
    """The operator's properties, units and the user attributes: three queries, whatever the file's size."""
    # accounts' attribute model, as the lease names it: tenancy sits below accounts, so it is
    # not imported, and the field's related model is typed as any model.
    attribute_model = cast("type[UserAttribute]", Lease._meta.get_field("attribute").related_model)
    attributes: dict[str, UserAttribute] = {}
    for attribute in attribute_model.objects.all():
        attributes[attribute.code] = attribute
        attributes[attribute.name] = attribute
    return RosterContext(
        operator=operator,
        header=header,
        properties={prop.name: prop for prop in Property.objects.filter(operator=operator)},
        units={(unit.property_id, unit.number): unit for unit in Unit.objects.filter(property__operator=operator)},
        attributes=attributes,
        create_units=create_units,
    )


def _cells_parse(line: int, cells: dict[str, str], roster: RosterContext) -> tuple[dict[str, Any], list[RowError]]:
    """Each filled cell typed by its column's parser; an empty optional cell is None."""
    values: dict[str, Any] = {}
    errors = []
    for key, parse in CELL_PARSERS.items():
        try:
            values[key] = parse(cells[key], roster) if cells[key] else None
        except ValidationError as error:
            errors.append(roster.error(line, key, error.messages[0]))
    return values, errors


def _line_read(line: int, cells: dict[str, str], roster: RosterContext) -> RosterLine:
    """One line: a missing required cell, else every cell's error, else the row's checks."""
    result = RosterLine(line=line, cells=cells)
    result.errors = [roster.error(line, key, _("入力してください。")) for key in REQUIRED if not cells[key]]
    if result.errors:
        return result
    values, result.errors = _cells_parse(line, cells, roster)
    if result.errors:
        return result
    result.row = RosterRow(
        line=line,
        property=values["property"],
        unit_number=values["unit"],
        phone_number=values["phone_number"],
        attribute=values["attribute"],
        start_date=values["start_date"],
        end_date=values["end_date"],
        unit=roster.units.get((values["property"].pk, values["unit"])),
    )
    result.errors = [error for check in ROW_CHECKS for error in check(result.row, roster)]
    return result


def _existing_match(rows: list[RosterRow], roster: RosterContext) -> None:
    """Point each row at the lease it updates (same unit, phone number and start date): one query."""
    phones = {row.phone_number for row in rows}
    if not phones:
        return
    # Compared as the stored text (E.164): `phone_number__in` would parse and format each of
    # 10,000 numbers again to build the query (seconds).
    leases = (
        Lease.objects.filter(unit__property__operator=roster.operator)
        .annotate(phone_text=_phone_text())
        .filter(phone_text__in=phones)
    )
    existing = {(lease.unit_id, lease.phone_text, lease.start_date): lease for lease in leases}
    for row in rows:
        if row.unit is not None:
            row.existing = existing.get((row.unit.pk, row.phone_number, row.start_date))


def lease_import_preview(*, operator: Operator, content: str, create_units: bool = False) -> LeaseImportPlan:
    """Check every line of the CSV against the operator's roster and say what the import would do.

    Reads only. Every line is in the plan with its errors (by line and column); the plan is
    valid when no line and nothing of the file has one. Properties must already be on the
    operator's roster; a unit number not yet on the property is an error, unless
    `create_units` (the operator's explicit choice): then the import creates it.
    """
    try:
        header, records = _file_read(content)
    except _FileRefused as refused:
        return LeaseImportPlan(file_errors=refused.errors)
    roster = _roster_context(operator=operator, header=header, create_units=create_units)
    plan = LeaseImportPlan(lines=[_line_read(line, cells, roster) for line, cells in records])
    _existing_match(plan.rows, roster)
    lines = {line.line: line for line in plan.lines}
    for check in ROSTER_CHECKS:
        # The rows still clean: a row refused by one check is not judged again by the next.
        for error in list(check(plan.rows, roster)):
            lines[error.line].errors.append(error)
    return plan


# Between the preview and the confirmation: the file kept server-side
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterUpload:
    """A previewed file waiting for its confirmation, and the operator it was previewed for."""

    operator_id: int
    content: str
    create_units: bool = False


def _upload_key(user: User) -> str:
    # One waiting upload per staff member: a new preview replaces the last, so the cache
    # holds at most one file (2 MB) per person, whatever they upload.
    return f"tenancy:roster-upload:{user.pk}"


def roster_upload_keep(*, user: User, operator: Operator, content: str, create_units: bool = False) -> str:
    """Keep a previewed file in the cache for UPLOAD_LIFETIME and return its token.

    The token is random and is the only thing the confirmation form carries; the file
    never goes back to the browser. It is bound to `user` (only they can redeem it) and
    to `operator` (whom the import is for), and keeps the preview's "create missing units"
    choice with the file, so the confirmation imports exactly what the preview showed.
    """
    token = secrets.token_urlsafe(32)
    # The deadline travels with the file: the cache's own expiry is the store's clock (Redis),
    # ours is the site's, and either one ends the upload.
    expires_at = (timezone.now() + UPLOAD_LIFETIME).timestamp()
    kept = {
        "token": token,
        "operator_id": operator.pk,
        "content": content,
        "create_units": create_units,
        "expires_at": expires_at,
    }
    cache.set(_upload_key(user), kept, timeout=int(UPLOAD_LIFETIME.total_seconds()))
    return token


def roster_upload_take(*, user: User, token: str) -> RosterUpload:
    """The file `user` kept under `token`, removed so it is used only once.

    An expired, used, replaced or someone else's token raises ValidationError, and
    leaves what is kept untouched (a wrong guess cannot spoil another's upload).
    """
    key = _upload_key(user)
    kept = cache.get(key)
    if kept and kept.get("expires_at", 0) <= timezone.now().timestamp():
        kept = None
    # delete() says whether it removed the entry: of two confirmations at once, one wins.
    if not (kept and token and secrets.compare_digest(kept["token"].encode(), token.encode()) and cache.delete(key)):
        raise ValidationError(
            _("アップロードから時間が経ったか、すでに取り込み済みです。もう一度アップロードしてください。")
        )
    return RosterUpload(
        operator_id=kept["operator_id"], content=kept["content"], create_units=kept.get("create_units", False)
    )


# The import
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaseImportResult:
    created: int
    updated: int
    units_created: int


def _unit_for(row: RosterRow, new_units: dict[tuple[int, str], Unit], *, acting_user: User) -> Unit:
    """The row's unit, created (with its audit row) once for all the rows that name it."""
    if row.unit is not None:
        return row.unit
    key = (row.property.pk, row.unit_number)
    if key not in new_units:
        # The property is one of the importing operator's (the preview read only theirs).
        unit = Unit(property=row.property, number=row.unit_number)
        unit.full_clean()
        unit.save()
        audit_log_record(
            actor=acting_user,
            operator=row.property.operator,
            action=AuditLogEntry.Action.LEASE_IMPORT,
            target_label=_("住戸 %(unit)s") % {"unit": unit},
            new_value=_("住戸を作成"),
        )
        new_units[key] = unit
    return new_units[key]


def _lease_for(row: RosterRow, unit: Unit) -> Lease:
    """The lease the row updates (attribute and end date) or adds, validated, not saved."""
    if row.existing is not None:
        lease = row.existing
        lease.attribute = row.attribute
        lease.end_date = row.end_date
    else:
        lease = Lease(
            unit=unit,
            phone_number=row.phone_number,
            attribute=row.attribute,
            start_date=row.start_date,
            end_date=row.end_date,
        )
    # The foreign keys come from rows loaded by the preview: skip their one-query-per-row checks.
    lease.full_clean(exclude=["unit", "attribute", "resident"])
    return lease


@transaction.atomic
def lease_import(
    *, operator: Operator, content: str, acting_user: User, create_units: bool = False
) -> LeaseImportResult:
    """Import the CSV into the operator's roster: every row or none (one transaction).

    The file is checked again here (the roster may have changed since the preview); any
    error raises ValidationError with one message per error, naming the row and the column.
    Units missing from a property are created only when `create_units`, each with an audit
    row; the import itself writes one more.
    """
    # Serialise imports of one operator: two at once would both create the same unit (or overlap).
    Operator.objects.select_for_update().filter(pk=operator.pk).first()
    plan = lease_import_preview(operator=operator, content=content, create_units=create_units)
    if not plan.is_valid:
        raise ValidationError([str(error) for error in plan.errors] or [_("取り込む行がありません。")])
    new_units: dict[tuple[int, str], Unit] = {}
    leases = [_lease_for(row, _unit_for(row, new_units, acting_user=acting_user)) for row in plan.rows]
    to_create = [lease for lease in leases if lease.pk is None]
    to_update = [lease for lease in leases if lease.pk is not None]
    Lease.objects.bulk_create(to_create, batch_size=1000)
    Lease.objects.bulk_update(to_update, ["attribute", "end_date"], batch_size=1000)
    result = LeaseImportResult(created=len(to_create), updated=len(to_update), units_created=len(new_units))
    audit_log_record(
        actor=acting_user,
        operator=operator,
        action=AuditLogEntry.Action.LEASE_IMPORT,
        target_label=ngettext("入居契約 %(count)d件", "入居契約 %(count)d件", len(leases)) % {"count": len(leases)},
        new_value=f"created={result.created} updated={result.updated} units_created={result.units_created}",
    )
    return result


# The export
# ------------------------------------------------------------------------------


def _cell(value: str) -> str:
    """The formula guard: the import reads it back as the value (`_cell_unguard`)."""
    return f"{FORMULA_GUARD}{value}" if value.startswith((*FORMULA_PREFIXES, FORMULA_GUARD)) else value


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
