"""Devices and their settings in the operator console. PINs are never shown nor editable in clear.

Scoped like every console admin (myspacecore.tenancy.scoping): a device is an operator's
through its unit or through its owner's lease, and a setting through its device.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from myspacecore.core.masking import PIN_MASK
from myspacecore.tenancy.scoped_admin import OperatorScopedAdminMixin

from .forms import DeviceAdminForm
from .models import Device, PinCode, RemoteControlSetting


@admin.register(Device)
class DeviceAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["name", "kind", "serial_number", "owner_user", "unit"]
    list_filter = ["kind", "unit__property"]
    list_select_related = ["owner_user", "unit__property"]
    search_fields = ["serial_number__exact"]
    autocomplete_fields = ["unit"]
    raw_id_fields = ["owner_user"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A resident's own device is theirs: operator staff only install devices in units.
        return [] if request.user.is_superuser else ["owner_user"]


@admin.register(RemoteControlSetting)
class RemoteControlSettingAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "appliance_type", "maker", "device"]
    list_filter = ["appliance_type"]
    list_select_related = ["device"]
    search_fields = ["device__serial_number__exact"]
    raw_id_fields = ["device"]


@admin.register(PinCode)
class PinCodeAdmin(OperatorScopedAdminMixin, admin.ModelAdmin):
    """Read-only: a PIN is added by the resident (service rules) and can only be deleted here."""

    list_display = ["label", "masked_pin", "device", "valid_from", "valid_until", "created_at"]
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
