"""Devices and their settings in the operator console. PINs are never shown nor editable in clear.

Scoped like every console admin (myspacecore.tenancy.scoping): a device is an operator's
through its unit or through its owner's lease, and a setting through its device.
"""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.db.models import F, OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from myspacecore.core.masking import PIN_MASK
from myspacecore.tenancy.scoped_admin import OperatorScopedAdminMixin, acting_staff
from myspacecore.tenancy.services.audit import console_object_delete, console_object_save, console_objects_delete

from .app_settings import app_settings
from .forms import DeviceAdminForm
from .models import Device, DeviceSettingsReset, PinCode, RemoteControlSetting
from .services import pin_code_delete, remote_setting_delete, remote_setting_save


def _remote_setting_write(obj) -> None:
    remote_setting_save(remote_setting=obj)


def _remote_setting_remove(obj) -> None:
    remote_setting_delete(remote_setting=obj)


def _pin_code_remove(obj) -> None:
    pin_code_delete(pin_code=obj)


class DeviceSyncFilter(admin.SimpleListFilter):
    """The devices an operator must watch: changes not confirmed, long unconfirmed, resets pending."""

    title = _("デバイスへの反映")
    parameter_name = "sync"

    def lookups(self, request, model_admin):
        return [
            ("pending", _("確認待ち")),
            ("overdue", _("長時間確認がない")),
            ("reset", _("リセットの確認待ち（退去・削除）")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(desired_version__gt=F("reported_version"))
        if self.value() == "overdue":
            since = timezone.now() - datetime.timedelta(seconds=app_settings.DEVICE_CONFIRM_WARN_AFTER_SECONDS)
            return queryset.filter(desired_version__gt=F("reported_version"), pending_since__lte=since)
        if self.value() == "reset":
            return queryset.filter(reset_requested_at__isnull=False)
        return queryset


@admin.register(Device)
class DeviceAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["name", "kind", "serial_number", "owner_user", "unit", "sync_summary"]
    list_filter = [DeviceSyncFilter, "kind", "unit__property"]
    list_select_related = ["owner_user", "unit__property"]
    search_fields = ["serial_number__exact"]
    autocomplete_fields = ["unit"]
    raw_id_fields = ["owner_user"]

    def get_queryset(self, request: HttpRequest):
        # The oldest reset (move-out, deletion) the device has not confirmed yet, for the list.
        open_reset = DeviceSettingsReset.objects.filter(device=OuterRef("pk"), confirmed_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(reset_requested_at=Subquery(open_reset.order_by("requested_at").values("requested_at")[:1]))
        )

    @admin.display(description=_("デバイスへの反映"))
    def sync_summary(self, obj: Device) -> str:
        """Reset pending on the device (and for how long), offline since …, waiting, or confirmed."""
        now = timezone.now()
        reset_requested_at = getattr(obj, "reset_requested_at", None)
        if reset_requested_at is not None:
            return gettext("リセットの確認待ち（%(wait)s）") % {"wait": timesince(reset_requested_at, now)}
        if obj.sync_failure == Device.SyncFailure.OFFLINE:
            since = obj.sync_failure_since or obj.last_seen_at
            if since:
                return gettext("オフライン（%(wait)s前から）") % {"wait": timesince(since, now)}
            return gettext("オフライン")
        if obj.pending_since is not None and not obj.is_in_sync:
            return gettext("確認待ち（%(wait)s）") % {"wait": timesince(obj.pending_since, now)}
        return gettext("反映済み") if obj.reported_at else gettext("未接続")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A resident's own device is theirs: operator staff only install devices in units.
        return [] if request.user.is_superuser else ["owner_user"]


@admin.register(RemoteControlSetting)
class RemoteControlSettingAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "appliance_type", "maker", "device", "sync_state"]
    list_filter = ["appliance_type"]
    list_select_related = ["device"]
    search_fields = ["device__serial_number__exact"]
    raw_id_fields = ["device"]

    # Through the same services as the resident's pages, so the device is told of every change
    # (a new desired version) and a deleted setting is "being removed" until it confirms; the
    # audit row is written as for every console write.
    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A setting never moves to another device (its device would never be told to drop it).
        return ["device"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        console_object_save(obj=obj, acting_user=acting_staff(request), write=_remote_setting_write)

    def delete_model(self, request: HttpRequest, obj) -> None:
        console_object_delete(obj=obj, acting_user=acting_staff(request), remove=_remote_setting_remove)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        console_objects_delete(queryset=queryset, acting_user=acting_staff(request), remove=_remote_setting_remove)


@admin.register(PinCode)
class PinCodeAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    """Read-only: a PIN is added by the resident (service rules) and can only be deleted here."""

    list_display = ["label", "masked_pin", "device", "valid_from", "valid_until", "sync_state", "created_at"]
    list_select_related = ["device"]
    search_fields = ["device__serial_number__exact"]
    fields = ("device", "label", "masked_pin", "valid_from", "valid_until", "created_at")
    readonly_fields = fields

    @admin.display(description=_("暗証番号"))
    def masked_pin(self, obj: PinCode) -> str:
        return PIN_MASK

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    # The lock is told: the PIN is "being removed" until it confirms (smarthome.services).
    def delete_model(self, request: HttpRequest, obj) -> None:
        console_object_delete(obj=obj, acting_user=acting_staff(request), remove=_pin_code_remove)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        console_objects_delete(queryset=queryset, acting_user=acting_staff(request), remove=_pin_code_remove)
