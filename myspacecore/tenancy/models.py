"""The tenancy domain: management companies (operators), their properties and units, the
leases that name residents, and the audit log of what each operator's staff did.

The tables keep the names they had when these models lived in `accounts` (`db_table`):
the move was a change of Django state only (migration tenancy 0001). Residents and
attributes are `accounts`' models, referred to by name, never imported: tenancy sits
below accounts (ARCHITECTURE.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.modelfields import PhoneNumberField

# The operator roster
# ------------------------------------------------------------------------------


class Operator(models.Model):
    """A management company (導入事業者 / 管理会社) and the contact shown to its residents."""

    name = models.CharField(_("事業者名"), max_length=100, unique=True)
    contact_phone = models.CharField(_("連絡先電話番号"), max_length=32, blank=True)
    contact_email = models.EmailField(_("連絡先メールアドレス"), blank=True)
    contact_hours = models.CharField(_("受付時間"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        db_table = "accounts_operator"
        verbose_name = _("導入事業者")
        verbose_name_plural = pgettext_lazy("plural", "導入事業者")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Property(models.Model):
    operator = models.ForeignKey(
        Operator, on_delete=models.PROTECT, related_name="properties", verbose_name=_("導入事業者")
    )
    name = models.CharField(_("物件名"), max_length=100)
    address = models.CharField(_("所在地"), max_length=200, blank=True)

    class Meta:
        db_table = "accounts_property"
        verbose_name = _("物件")
        verbose_name_plural = pgettext_lazy("plural", "物件")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "name"], name="property_unique_name_per_operator"),
        ]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    property = models.ForeignKey(Property, on_delete=models.PROTECT, related_name="units", verbose_name=_("物件"))
    number = models.CharField(_("部屋番号"), max_length=20)
    last_reset_at = models.DateTimeField(_("最終リセット日時"), null=True, blank=True)

    class Meta:
        db_table = "accounts_unit"
        verbose_name = _("住戸")
        verbose_name_plural = pgettext_lazy("plural", "住戸")
        ordering = ["property__name", "number"]
        constraints = [
            models.UniqueConstraint(fields=["property", "number"], name="unit_unique_number_per_property"),
        ]

    def __str__(self) -> str:
        return f"{self.property.name} {self.number}"


class LeaseQuerySet(models.QuerySet):
    """Lease states by day, each rule written once. `on` is a local date, today by default.

    The raw-SQL reads (bench/README.md) take the in-force rule from
    `myspacecore.tenancy.sql.lease_in_force_sql`, its twin in SQL: a change to the rule (issue
    14: "and accepted by the resident") is made to `_in_force_q` and that function together;
    tests/tenancy/test_lease_rules.py fails when the two disagree on any boundary day.
    """

    @staticmethod
    def _in_force_q(on: datetime.date) -> models.Q:
        # In force through its end day: the end date is the last day of the lease.
        return models.Q(start_date__lte=on) & (models.Q(end_date__isnull=True) | models.Q(end_date__gte=on))

    def in_force(self, on: datetime.date | None = None) -> LeaseQuerySet:
        """Leases in force on day `on`: started on or before it, ending on or after it (or never)."""
        return self.filter(self._in_force_q(on or timezone.localdate()))

    def with_in_force(self, on: datetime.date | None = None) -> LeaseQuerySet:
        """Each lease with `is_in_force` (bool): whether it is in force on day `on` (the same rule)."""
        in_force = models.ExpressionWrapper(
            self._in_force_q(on or timezone.localdate()), output_field=models.BooleanField()
        )
        return self.annotate(is_in_force=in_force)

    def not_ended(self, on: datetime.date | None = None) -> LeaseQuerySet:
        """Leases in force or yet to start on day `on`: ending on or after it, or never.

        Its twin in SQL: `myspacecore.tenancy.sql.lease_not_ended_sql` (change the two together)."""
        on = on or timezone.localdate()
        return self.filter(models.Q(end_date__isnull=True) | models.Q(end_date__gte=on))

    def future(self, on: datetime.date | None = None) -> LeaseQuerySet:
        """Leases that start after day `on`."""
        return self.filter(start_date__gt=on or timezone.localdate())

    def past(self, on: datetime.date | None = None) -> LeaseQuerySet:
        """Leases that ended before day `on`."""
        return self.filter(end_date__lt=on or timezone.localdate())

    # The console's status filter (Lease.Status.CURRENT) says "current": the same rule.
    current = in_force

    def accepted(self) -> LeaseQuerySet:
        """Leases the named resident accepted: only these grant anything (SPEC "tenancy trust")."""
        return self.filter(acceptance=Lease.Acceptance.ACCEPTED)

    def granting(self, on: datetime.date | None = None) -> LeaseQuerySet:
        """Leases that grant access on `on`: accepted by their resident and in force."""
        return self.accepted().in_force(on)


class LeasePeriod(Protocol):
    """Anything with a lease's two dates: a lease, or a roster row that would become one."""

    @property
    def start_date(self) -> datetime.date: ...

    @property
    def end_date(self) -> datetime.date | None: ...


P = TypeVar("P", bound=LeasePeriod)


def _last_day(period: LeasePeriod) -> datetime.date:
    return period.end_date if period.end_date is not None else datetime.date.max


def lease_periods_overlap(first: LeasePeriod, second: LeasePeriod) -> bool:
    """Whether two periods share a day: end dates are in the lease (inclusive), no end is forever."""
    return first.start_date <= _last_day(second) and second.start_date <= _last_day(first)


def lease_period_clashes(periods: Iterable[P], *, checked: Callable[[P], bool]) -> Iterator[tuple[P, P]]:
    """(period, an earlier-starting one it overlaps) for the periods that overlap another, where
    at least one of the two is `checked`; pairs of two unchecked periods are not looked for.

    One sweep by start date, O(n log n) at any size: each period is compared with the one
    reaching furthest among those before it (any period, for a checked one; the checked
    ones, for an unchecked one), which overlaps it whenever anything before it does.
    """
    reach: P | None = None
    checked_reach: P | None = None
    for period in sorted(periods, key=lambda p: p.start_date):
        partner = reach if checked(period) else checked_reach
        if partner is not None and lease_periods_overlap(period, partner):
            yield period, partner
        if reach is None or _last_day(period) > _last_day(reach):
            reach = period
        if checked(period) and (checked_reach is None or _last_day(period) > _last_day(checked_reach)):
            checked_reach = period


class Lease(models.Model):
    """A resident entry of the roster: an operator's invitation to the number it names.

    It grants nothing until the resident, signed in with that number, accepts it (then
    `resident` links the account); a resident who says "this is not me" declines it. An
    operator's entry never changes an account by itself.
    """

    class Status(models.TextChoices):
        FUTURE = "future", _("開始前")
        CURRENT = "current", _("契約中")
        PAST = "past", _("終了")

    class Acceptance(models.TextChoices):
        PENDING = "pending", _("入居者の確認待ち")
        ACCEPTED = "accepted", _("入居者が承認")
        DECLINED = "declined", _("入居者が辞退（心当たりなし）")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="leases", verbose_name=_("住戸"))
    phone_number = PhoneNumberField(_("入居者電話番号"), db_index=True)
    attribute = models.ForeignKey(
        "accounts.UserAttribute", on_delete=models.PROTECT, related_name="leases", verbose_name=_("ユーザー属性")
    )
    start_date = models.DateField(_("契約開始日"))
    end_date = models.DateField(_("契約終了日"), null=True, blank=True)
    acceptance = models.CharField(
        _("入居者の確認"), max_length=16, choices=Acceptance.choices, default=Acceptance.PENDING
    )
    # When the resident accepted or declined (None while pending).
    answered_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    # Set when the resident accepts; the entry outlives the account (operator's data).
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leases",
        verbose_name=_("アカウント"),
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    objects = LeaseQuerySet.as_manager()

    class Meta:
        db_table = "accounts_lease"
        verbose_name = _("入居契約")
        verbose_name_plural = pgettext_lazy("plural", "入居契約")
        ordering = ["-start_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="lease_end_not_before_start",
            ),
            # Only an accepted entry links an account (an account's deletion leaves it unlinked).
            models.CheckConstraint(
                condition=models.Q(resident__isnull=True) | models.Q(acceptance="accepted"),
                name="lease_linked_only_when_accepted",
            ),
        ]
        indexes = [models.Index(fields=["end_date"], name="lease_end_date_idx")]

    def __str__(self) -> str:
        return f"{self.unit} ({self.start_date:%Y-%m-%d}–{self.end_date or ''})"

    def status(self, on: datetime.date | None = None) -> Lease.Status:
        on = on or timezone.localdate()
        if self.start_date > on:
            return self.Status.FUTURE
        if self.end_date is not None and self.end_date < on:
            return self.Status.PAST
        return self.Status.CURRENT


# The audit log: who did what in the console, per operator
# ------------------------------------------------------------------------------


class AuditLogEntry(models.Model):
    """One action taken in the operator console on a resident's or the roster's behalf.

    Values are stored masked (a phone number as `+81******5678`): the log proves who did
    what and when without becoming a second copy of the residents' personal data.
    """

    class Action(models.TextChoices):
        PHONE_CHANGE = "phone_change", _("電話番号の変更")
        SESSIONS_END = "sessions_end", _("全セッションの終了")
        UNIT_RESET = "unit_reset", _("退去リセット")
        LEASE_IMPORT = "lease_import", _("入居契約のCSV取り込み")
        STAFF_CREATE = "staff_create", _("スタッフアカウントの作成")
        STAFF_UPDATE = "staff_update", _("スタッフアカウントの変更")
        STAFF_OTP_CONFIRM = "staff_otp_confirm", _("二段階認証の設定")
        STAFF_OTP_RESET = "staff_otp_reset", _("二段階認証のリセット")
        STAFF_RECOVERY_CODES_ISSUE = "staff_recovery_codes", _("リカバリーコードの発行")
        STAFF_PASSWORD_CHANGE = "staff_password", _("パスワードの変更")
        TARGET_UNLOCK = "target_unlock", _("認証の送信先のロック解除")
        # A console form's own add / change / delete (ScopedModelAdmin), for any model.
        OBJECT_ADD = "object_add", pgettext_lazy("audit action", "追加")
        OBJECT_CHANGE = "object_change", pgettext_lazy("audit action", "変更")
        OBJECT_DELETE = "object_delete", pgettext_lazy("audit action", "削除")

    operator = models.ForeignKey(
        Operator,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_log_entries",
        verbose_name=_("導入事業者"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("実行者"),
    )
    # Kept as text too: the log must still say who acted after the staff account is gone.
    actor_label = models.CharField(_("実行者名"), max_length=150)
    action = models.CharField(_("操作"), max_length=32, choices=Action.choices)
    target_label = models.CharField(_("対象"), max_length=200)
    # What the row is about, as staff search for it: the model (`tenancy.lease`) and its id.
    # Empty id: a row about many rows (an import) or about none.
    target_type = models.CharField(_("対象の種類"), max_length=100, blank=True)
    target_id = models.CharField(_("対象ID"), max_length=64, blank=True)
    old_value = models.CharField(_("変更前"), max_length=1000, blank=True)
    new_value = models.CharField(_("変更後"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)

    class Meta:
        db_table = "accounts_auditlogentry"
        verbose_name = _("操作履歴")
        verbose_name_plural = pgettext_lazy("plural", "操作履歴")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["operator", "-created_at"], name="audit_operator_created_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target_label}"
