"""Smart-home devices and the settings residents keep on them (remotes, smart-lock PINs).

A device belongs either to one account (bought by the resident) or to one unit of an
operator's property; the unit's settings are reset at move-out so the next tenant never
inherits them.
"""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from myspacecore.tenancy.models import Unit


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


def channel_id_new() -> str:
    """An opaque channel id (protocol.CHANNEL_ID_RE), never derived from a serial. It starts with a
    letter, so it never reads as an option on a command line (`--channel -x…`) or in a shell."""
    return "c" + secrets.token_urlsafe(16)


class DeviceSyncFailure(models.TextChoices):
    """Why a device has not confirmed its desired state (the page says it next to each setting)."""

    OFFLINE = "offline", _("ハブがオフラインです")


class Device(models.Model):
    Kind = DeviceKind
    SyncFailure = DeviceSyncFailure

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
    # The device channel (smarthome/sync, docs/device-states.md). `channel_id` names the MQTT
    # channel of a device that connects by itself (a hub), and is the key its PINs are sealed
    # with; a device reached through a hub names that hub in `hub`.
    channel_id = models.CharField(_("チャネルID"), max_length=64, unique=True, default=channel_id_new, editable=False)
    hub = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="devices_behind",
        limit_choices_to={"kind": DeviceKind.HUB},
        verbose_name=_("接続先ハブ"),
        help_text=_("このデバイスが通信に使うハブ。空欄の場合はデバイス自身が接続します。"),
    )
    # Desired: bumped in the transaction of every change of the device's settings. Reported:
    # the version the device last confirmed holding.
    desired_version = models.PositiveBigIntegerField(_("設定のバージョン"), default=0, editable=False)
    reported_version = models.PositiveBigIntegerField(_("確認済みのバージョン"), default=0, editable=False)
    reported_at = models.DateTimeField(_("最後の確認日時"), null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(_("最後の通信日時"), null=True, blank=True, editable=False)
    # Since when the device has held back a change (desired > reported); None when in sync.
    pending_since = models.DateTimeField(_("未確認の変更がある日時"), null=True, blank=True, editable=False)
    sync_failure = models.CharField(
        _("反映できない理由"), max_length=16, choices=DeviceSyncFailure.choices, blank=True, editable=False
    )
    sync_failure_since = models.DateTimeField(_("反映できなくなった日時"), null=True, blank=True, editable=False)
    # PIN slots of the lock, as it reports them (None until it has).
    slots_total = models.PositiveIntegerField(_("暗証番号の枠数"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("デバイス")
        verbose_name_plural = pgettext_lazy("plural", "デバイス")
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
            models.CheckConstraint(condition=~models.Q(hub=models.F("pk")), name="device_hub_not_itself"),
        ]
        indexes = [
            models.Index(
                fields=["pending_since"], name="device_pending_idx", condition=models.Q(pending_since__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        hub = self.hub
        if hub is None:
            return
        if hub.pk == self.pk or hub.kind != DeviceKind.HUB or hub.hub_id is not None:
            raise ValidationError({"hub": _("接続先には、ほかのハブを経由しないハブを指定してください。")})
        if (hub.owner_user_id, hub.unit_id) != (self.owner_user_id, self.unit_id):
            raise ValidationError({"hub": _("接続先のハブは、同じアカウントまたは同じ住戸のものにしてください。")})

    @property
    def is_smart_lock(self) -> bool:
        return self.kind == self.Kind.SMART_LOCK

    @property
    def is_in_sync(self) -> bool:
        return self.reported_version >= self.desired_version


class SyncState(models.TextChoices):
    """Where one setting stands on its device (Seam's access-code lifecycle, docs/device-states.md)."""

    SETTING = "setting", _("ロックに反映中…")
    SET = "set", _("反映済み")
    FAILED = "failed", _("反映できませんでした")
    REMOVING = "removing", _("削除中…")


class SyncFailureReason(models.TextChoices):
    """Why a device refused one setting (protocol.FAILURE_REASONS)."""

    LOCK_FULL = "lock_full", _("ロックの登録枠がいっぱいです")
    REJECTED = "rejected", _("デバイスが受け付けませんでした")
    UNSUPPORTED = "unsupported", _("このデバイスでは使えない設定です")


class OnDeviceManager(models.Manager):
    """The settings a resident has (on the device or on their way to it), not those being removed.

    The default manager: a deleted setting stays a row (REMOVING) until its device confirms it
    is gone, and every count, list, uniqueness and slot rule written as `objects` must not see
    it as a setting. Code that must see it (the device channel, the slot rule, the pages that
    show "being removed") reads `all_objects`; deletions cascade through the base manager.
    """

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().exclude(sync_state=SyncState.REMOVING)


class DeviceSetting(models.Model):
    """What the settings kept on a device share: the version that last changed them and their state there."""

    SyncState = SyncState
    SyncFailureReason = SyncFailureReason

    changed_version = models.PositiveBigIntegerField(_("変更時のバージョン"), default=0, editable=False)
    sync_state = models.CharField(
        _("デバイスへの反映"), max_length=16, choices=SyncState.choices, default=SyncState.SETTING, editable=False
    )
    sync_failure = models.CharField(
        _("反映できなかった理由"), max_length=16, choices=SyncFailureReason.choices, blank=True, editable=False
    )
    sync_changed_at = models.DateTimeField(_("反映状態の更新日時"), default=timezone.now, editable=False)

    all_objects = models.Manager()
    objects = OnDeviceManager()

    class Meta:
        abstract = True
        default_manager_name = "objects"
        base_manager_name = "all_objects"

    @property
    def is_on_device(self) -> bool:
        return self.sync_state == SyncState.SET

    @property
    def is_removing(self) -> bool:
        return self.sync_state == SyncState.REMOVING


class RemoteControlSetting(DeviceSetting):
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

    class Meta(DeviceSetting.Meta):
        # The bare msgid is the residents' heading ("Remote-control settings"); the model's name is singular.
        verbose_name = pgettext_lazy("singular", "リモコン情報")
        verbose_name_plural = pgettext_lazy("plural", "リモコン情報")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="remote_setting_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(appliance_type__in=ApplianceType.values),
                name="remote_setting_appliance_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(sync_state__in=SyncState.values), name="remote_setting_sync_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PinCode(DeviceSetting):
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

    class Meta(DeviceSetting.Meta):
        verbose_name = _("暗証番号")
        verbose_name_plural = pgettext_lazy("plural", "暗証番号")
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
            models.CheckConstraint(
                condition=models.Q(sync_state__in=SyncState.values), name="pin_code_sync_state_valid"
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


# Account deletion
# ------------------------------------------------------------------------------


class SettingsPurgeRequest(models.Model):
    """Outbox row of an account deletion: smart-home settings still to purge (SPEC "Deletion" 4).

    Here, not in `accounts`: purging settings is this app's job, and `accounts` models
    must not depend on `smarthome`. The row is written in the deletion's own transaction,
    so it exists exactly when the account is gone; a Celery task enqueued on commit works
    it off, and `manage.py cleanup_purge_requests` finishes what a down broker or a dead
    worker left pending.

    Why it holds unit ids: they are captured *before* the account row goes, because
    `Lease.resident` is nulled with the account and nothing would tell afterwards which
    units the account lived in. Only units of leases that had started are captured: a
    future lease never gave the account access to that unit's devices. A captured unit is
    reset only when no current lease protects it and it was not reset since its last
    lease ended (the move-out rule), so a unit prepared for the next tenant is left alone.

    Why it holds no device ids: the settings of the account's own devices are purged
    inside the deletion transaction and the devices go with the account
    (`Device.owner_user` CASCADE). Deferring them would need ownerless devices (a relaxed
    owner-xor-unit constraint) that every read must then skip; purging at once leaves no
    moment after commit at which a deleted account's PIN or remote exists.
    Nothing that identifies the person (account id, phone, name) is kept here.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("未処理")
        # Purged here; done once every affected device confirmed the empty state (DeviceSettingsReset).
        AWAITING_DEVICES = "awaiting_devices", _("デバイスの確認待ち")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    unit_ids = models.JSONField(_("対象の住戸ID"), default=list, blank=True)
    state = models.CharField(_("状態"), max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    # What went, counted over the deletion itself and every run of the purge.
    remote_settings_purged = models.PositiveIntegerField(_("削除したリモコン情報"), default=0)
    pin_codes_purged = models.PositiveIntegerField(_("削除した暗証番号"), default=0)
    units_reset = models.PositiveIntegerField(_("リセットした住戸"), default=0)
    # The exception's class name only: a message could quote personal data.
    last_error = models.CharField(_("最後のエラー"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    finished_at = models.DateTimeField(_("完了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("設定情報の削除リクエスト")
        verbose_name_plural = pgettext_lazy("plural", "設定情報の削除リクエスト")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "awaiting_devices", "done", "failed"]),
                name="purge_request_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["state", "id"], name="purge_request_state_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_state_display()})"


class DeviceSettingsReset(models.Model):
    """One device's part of a move-out reset or a purge: done when the device confirms the empty state.

    Written in the reset's transaction with the device's desired version of that moment. It is
    confirmed by the first report at that version or later once no setting the reset removed is
    still on the device (docs/device-states.md); until then the console lists the unit as
    "reset pending on the device", and a purge request waits for every reset it made.
    """

    class Reason(models.TextChoices):
        MOVE_OUT = "move_out", _("退去")
        PURGE = "purge", _("設定情報の削除")

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="resets", verbose_name=_("デバイス"))
    reason = models.CharField(_("理由"), max_length=16, choices=Reason.choices)
    purge_request = models.ForeignKey(
        SettingsPurgeRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="device_resets",
        verbose_name=_("設定情報の削除リクエスト"),
    )
    version = models.PositiveBigIntegerField(_("リセット時のバージョン"))
    requested_at = models.DateTimeField(_("リセット日時"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("デバイスの確認日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("デバイスのリセット")
        verbose_name_plural = pgettext_lazy("plural", "デバイスのリセット")
        ordering = ["requested_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=["move_out", "purge"]), name="device_reset_reason_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["device", "version"],
                name="device_reset_open_idx",
                condition=models.Q(confirmed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device} v{self.version}"
