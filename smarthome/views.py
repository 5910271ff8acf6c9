"""My page > Smart home: a resident's devices, remote-control settings and smart-lock PINs.

Resident pages (staff get 403, as on accounts' pages); every lookup goes through a
`*_for_user` selector (another account's id answers 404), every change through one
service, and each completed action leaves a message.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from myspacecore.core.access import resident_required

from . import selectors, services
from .forms import PinCodeEditForm, PinCodeForm, RemoteSettingForm
from .models import Device
from .sync.status import setting_status


@resident_required
@require_GET
def device_list(request: HttpRequest) -> HttpResponse:
    items = [_device_list_item(device) for device in selectors.device_list_for_user(user=request.user)]
    context = {
        "own_devices": [item for item in items if item.device.owner_user_id is not None],
        "unit_devices": [item for item in items if item.device.unit_id is not None],
    }
    return render(request, "smarthome/device_list.html", context)


@dataclass(frozen=True)
class DeviceListItem:
    """One line of the device list with its texts: a device's `{% url %}`, `get_kind_display` and
    two `{% blocktranslate count %}` were ~0.15 ms of CPU each time, most of the page's own
    rendering (bench/README.md, pages.py); made here they cost a fifth of that."""

    device: Device
    url: str
    kind: str
    remotes: str
    pins: str | None  # a smart lock's


# get_kind_display() builds the choices' dict at each call.
KIND_LABELS = dict(Device.Kind.choices)


def _device_list_item(device: Device) -> DeviceListItem:
    remotes, pins = device.remote_setting_count, device.pin_code_count  # type: ignore[attr-defined]
    return DeviceListItem(
        device=device,
        url=reverse("smarthome:device_detail", kwargs={"device_id": device.pk}),
        kind=str(KIND_LABELS.get(device.kind, device.kind)),
        # The msgids of the template's {% blocktranslate count counter=… %} they replace.
        remotes=ngettext("リモコン %(counter)s件", "リモコン %(counter)s件", remotes) % {"counter": remotes},
        pins=ngettext("暗証番号 %(counter)s件", "暗証番号 %(counter)s件", pins) % {"counter": pins}
        if device.is_smart_lock
        else None,
    )


@resident_required
@require_GET
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    now = timezone.now()
    remote_settings = selectors.remote_settings_for_device(device=device)
    pin_codes = selectors.pin_codes_for_device(device=device) if device.is_smart_lock else []
    context = {
        "device": device,
        "remote_items": [(item, setting_status(setting=item, device=device, now=now)) for item in remote_settings],
        "pin_items": [(item, setting_status(setting=item, device=device, now=now)) for item in pin_codes],
    }
    return render(request, "smarthome/device_detail.html", context)


@resident_required
@require_http_methods(["GET", "POST"])
def remote_setting_create(request: HttpRequest, device_id: int) -> HttpResponse:
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    form = RemoteSettingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.remote_setting_create(device=device, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("リモコン情報を追加しました。"))
            return redirect("smarthome:device_detail", device_id=device.pk)
    return render(request, "smarthome/remote_setting_form.html", {"device": device, "form": form, "is_new": True})


@resident_required
@require_http_methods(["GET", "POST"])
def remote_setting_update(request: HttpRequest, remote_setting_id: int) -> HttpResponse:
    remote_setting = selectors.remote_setting_get_for_user(user=request.user, remote_setting_id=remote_setting_id)
    initial = {
        "name": remote_setting.name,
        "appliance_type": remote_setting.appliance_type,
        "maker": remote_setting.maker,
        "signal_data": remote_setting.signal_data,
    }
    form = RemoteSettingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.remote_setting_update(remote_setting=remote_setting, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("リモコン情報を変更しました。"))
            return redirect("smarthome:device_detail", device_id=remote_setting.device_id)
    context = {"device": remote_setting.device, "remote_setting": remote_setting, "form": form, "is_new": False}
    return render(request, "smarthome/remote_setting_form.html", context)


@resident_required
@require_http_methods(["GET", "POST"])
def remote_setting_delete(request: HttpRequest, remote_setting_id: int) -> HttpResponse:
    remote_setting = selectors.remote_setting_get_for_user(user=request.user, remote_setting_id=remote_setting_id)
    if request.method == "POST":
        services.remote_setting_delete(remote_setting=remote_setting)
        messages.success(
            request,
            _("リモコン情報「%(name)s」を削除します。デバイスから削除されるまで「削除中」と表示されます。")
            % {"name": remote_setting.name},
        )
        return redirect("smarthome:device_detail", device_id=remote_setting.device_id)
    return render(
        request,
        "smarthome/remote_setting_confirm_delete.html",
        {"device": remote_setting.device, "remote_setting": remote_setting},
    )


@resident_required
@require_http_methods(["GET", "POST"])
def pin_code_create(request: HttpRequest, device_id: int) -> HttpResponse:
    device = selectors.device_get_for_user(user=request.user, device_id=device_id)
    if not device.is_smart_lock:
        raise Http404
    form = PinCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.pin_code_create(device=device, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("暗証番号を追加しました。ロックに反映されると「反映済み」と表示されます。"))
            return redirect("smarthome:device_detail", device_id=device.pk)
    return render(request, "smarthome/pin_code_form.html", {"device": device, "form": form, "is_new": True})


@resident_required
@require_http_methods(["GET", "POST"])
def pin_code_update(request: HttpRequest, pin_code_id: int) -> HttpResponse:
    pin_code = selectors.pin_code_get_for_user(user=request.user, pin_code_id=pin_code_id)
    initial = {"label": pin_code.label, "valid_from": pin_code.valid_from, "valid_until": pin_code.valid_until}
    form = PinCodeEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.pin_code_update(pin_code=pin_code, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("暗証番号「%(label)s」を変更しました。") % {"label": pin_code.label})
            return redirect("smarthome:device_detail", device_id=pin_code.device_id)
    context = {"device": pin_code.device, "pin_code": pin_code, "form": form, "is_new": False}
    return render(request, "smarthome/pin_code_form.html", context)


@resident_required
@require_http_methods(["GET", "POST"])
def pin_code_delete(request: HttpRequest, pin_code_id: int) -> HttpResponse:
    pin_code = selectors.pin_code_get_for_user(user=request.user, pin_code_id=pin_code_id)
    if request.method == "POST":
        services.pin_code_delete(pin_code=pin_code)
        messages.success(
            request,
            _("暗証番号「%(label)s」を削除します。ロックから削除されるまで「削除中」と表示されます。")
            % {"label": pin_code.label},
        )
        return redirect("smarthome:device_detail", device_id=pin_code.device_id)
    return render(request, "smarthome/pin_code_confirm_delete.html", {"device": pin_code.device, "pin_code": pin_code})
