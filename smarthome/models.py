"""Smart-home devices and the settings residents keep on them (remotes, smart-lock PINs).

A device belongs either to one account (bought by the resident) or to one unit of an
operator's property; the unit's settings are reset at move-out so the next tenant never
inherits them.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit


# Module level (not nested) so the CheckConstraints in Meta can list their values.
class DeviceKind(models.TextChoices):
    HUB = "hub", _("ハブ")
    SMART_LOCK = "smart_lock", _("スマートロック")
    OTHER = "other", _("その他")


class ApplianceType(models.TextChoices):
    AIR_CONDITIONER = "air_conditioner", _("エアコン")
    TV = "tv", _("テレビ")
    LIGHT = "light", _("照明")
    FAN = "fan", _("扇風機")
    OTHER = "other", _("その他")


class Device(models.Model):
    Kind = DeviceKind

    kind = models.CharField(_("種類"), max_length=16, choices=DeviceKind.choices)
    name = models.CharField(_("名前"), max_length=50)
    serial_number = models.CharField(_("シリアル番号"), max_length=64, unique=True)
    # A device bought by the resident goes with the account; deleting the account deletes it.
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("所有アカウント"),
    )
    # A unit's device is the operator's equipment: the unit cannot vanish under it.
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("住戸"),
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("デバイス")
        verbose_name_plural = _("デバイス")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(owner_user__isnull=False, unit__isnull=True)
                    | models.Q(owner_user__isnull=True, unit__isnull=False)
                ),
                name="device_owner_xor_unit",
                violation_error_message=_("アカウントか住戸のどちらか一方を指定してください。"),
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="device_name_not_empty"),
            models.CheckConstraint(condition=~models.Q(serial_number=""), name="device_serial_not_empty"),
            models.CheckConstraint(condition=models.Q(kind__in=DeviceKind.values), name="device_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_smart_lock(self) -> bool:
        return self.kind == self.Kind.SMART_LOCK


class RemoteControlSetting(models.Model):
    """A remote-control setting (リモコン情報): one appliance the hub can operate."""

    ApplianceType = ApplianceType

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="remote_settings", verbose_name=_("デバイス")
    )
    name = models.CharField(_("名前"), max_length=50)
    appliance_type = models.CharField(_("家電の種類"), max_length=20, choices=ApplianceType.choices)
    maker = models.CharField(_("メーカー"), max_length=50, blank=True)
    signal_data = models.TextField(
        _("信号データ"), blank=True, help_text=_("学習した信号、またはプリセットの信号データです。")
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("リモコン情報")
        verbose_name_plural = _("リモコン情報")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="remote_setting_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(appliance_type__in=ApplianceType.values),
                name="remote_setting_appliance_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PinCode(models.Model):
    """A smart-lock PIN (暗証番号). Only its ciphertext and a keyed lookup hash are stored."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("開始前")
        ACTIVE = "active", _("有効")
        EXPIRED = "expired", _("期限切れ")

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="pin_codes", verbose_name=_("スマートロック")
    )
    label = models.CharField(_("名前"), max_length=50)
    pin_encrypted = models.TextField(_("暗証番号（暗号化）"), editable=False)
    pin_lookup = models.CharField(max_length=64, editable=False)
    valid_from = models.DateTimeField(_("有効開始日時"), null=True, blank=True)
    valid_until = models.DateTimeField(_("有効終了日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("暗証番号")
        verbose_name_plural = _("暗証番号")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(label=""), name="pin_code_label_not_empty"),
            models.CheckConstraint(condition=~models.Q(pin_encrypted=""), name="pin_code_encrypted_not_empty"),
            models.CheckConstraint(
                condition=(
                    models.Q(valid_from__isnull=True)
                    | models.Q(valid_until__isnull=True)
                    | models.Q(valid_until__gt=models.F("valid_from"))
                ),
                name="pin_code_valid_until_after_valid_from",
                violation_error_message=_("有効終了日時は有効開始日時より後にしてください。"),
            ),
        ]
        indexes = [models.Index(fields=["device", "pin_lookup"], name="pin_code_device_lookup_idx")]

    def __str__(self) -> str:
        return self.label

    def state(self, at: datetime.datetime | None = None) -> PinCode.State:
        at = at or timezone.now()
        if self.valid_until is not None and self.valid_until <= at:
            return self.State.EXPIRED
        if self.valid_from is not None and self.valid_from > at:
            return self.State.SCHEDULED
        return self.State.ACTIVE

    @property
    def current_state(self) -> PinCode.State:
        return self.state()
