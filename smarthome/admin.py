"""Platform admin for devices and their settings. PINs are never shown nor editable in clear.

Kept simple on purpose: the operator-scoped (multi-tenant) admin is a later issue.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Device, PinCode, RemoteControlSetting

PIN_MASK = "••••"


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "serial_number", "owner_user", "unit"]
    list_filter = ["kind"]
    list_select_related = ["owner_user", "unit__property"]
    search_fields = ["name", "serial_number"]
    raw_id_fields = ["owner_user", "unit"]


@admin.register(RemoteControlSetting)
class RemoteControlSettingAdmin(admin.ModelAdmin):
    list_display = ["name", "appliance_type", "maker", "device"]
    list_filter = ["appliance_type"]
    list_select_related = ["device"]
    search_fields = ["name", "maker", "device__serial_number"]
    raw_id_fields = ["device"]


@admin.register(PinCode)
class PinCodeAdmin(admin.ModelAdmin):
    """Read-only: a PIN is added by the resident (service rules) and can only be deleted here."""

    list_display = ["label", "masked_pin", "device", "valid_from", "valid_until", "created_at"]
    list_select_related = ["device"]
    search_fields = ["label", "device__serial_number"]
    fields = ["device", "label", "masked_pin", "valid_from", "valid_until", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("暗証番号"))
    def masked_pin(self, obj: PinCode) -> str:
        return PIN_MASK

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
