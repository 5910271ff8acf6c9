"""`{% load device_items %}`: the device list's lines, in Python instead of an included template.

    {% device_items own_devices %}     one <li> per `smarthome.views.DeviceListItem`

The included template (`smarthome/includes/device_items.html`, a loop of ~15 nodes per
device) was 0.17 ms of CPU for two devices, a fifth of the device list's own work
(bench/README.md, pages.py). This writes the same HTML, byte for byte, escaped as the
template escaped it: tests/smarthome/test_device_items.py renders the template it replaces
beside it for devices of every kind, state and name, in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext

if TYPE_CHECKING:
    from smarthome.views import DeviceListItem

register = template.Library()


@register.simple_tag
def device_items(items: Iterable[DeviceListItem]) -> SafeString:
    """Each device's link: its name, then kind, unit, counts and whether a setting is on its way."""
    _text = conditional_escape  # `{{ value }}` with autoescape (every value here is a text)
    parts = ["\n"]
    for item in items:
        device = item.device
        parts += [
            '<li>\n  <a href="',
            _text(item.url),
            '">\n    <span class="device-name">',
            _text(device.name),
            '</span>\n    <span class="device-meta">',
            _text(item.kind),
        ]
        if device.unit_id:
            parts += ["・", _text(device.property_name), " ", _text(device.unit_number)]  # type: ignore[attr-defined]
        parts += ["\n      ・", _text(item.remotes)]
        if item.pins:
            parts += ["\n      ・", _text(item.pins)]
        if not device.is_in_sync:
            parts += [
                '\n      ・<span class="sync-status sync-status-setting">',
                _text(gettext("反映中の設定があります")),
                "</span>",
            ]
        parts.append("</span>\n  </a>\n</li>")
    parts.append("\n")
    return SafeString("".join(parts))
