"""`{% device_items %}` writes the device list's lines exactly as the template it replaced did.

The template below is the site's `smarthome/includes/device_items.html` as it was (rendered
here by Django's own engine, as `{% include … with devices=… %}` rendered it): the tag must
give the same bytes for every kind of device, state, count and name, in both languages.
"""

# ruff: noqa: E501 - the template below is kept as it was, line for line
from __future__ import annotations

import itertools

import pytest
from django.template import Context, Engine
from django.utils.translation import override

from smarthome.device_items import device_items
from smarthome.models import Device
from smarthome.views import DeviceListItem, _device_list_item

DEVICE_ITEMS = """\
{% load i18n %}{# The <li> of each device (smarthome.views.DeviceListItem): one include per list, not one per device (bench/README.md). #}
{% for item in devices %}<li>
  <a href="{{ item.url }}">
    <span class="device-name">{{ item.device.name }}</span>
    <span class="device-meta">{{ item.kind }}{% if item.device.unit_id %}・{{ item.device.property_name }} {{ item.device.unit_number }}{% endif %}
      ・{{ item.remotes }}{% if item.pins %}
      ・{{ item.pins }}{% endif %}{% if not item.device.is_in_sync %}
      ・<span class="sync-status sync-status-setting">{% translate "反映中の設定があります" %}</span>{% endif %}</span>
  </a>
</li>{% endfor %}
"""

NAMES = ["リビングのハブ", 'Tom & "Jerry" <b>lock</b>', "O'Brien's door", ""]


def _device(pk: int, *, name: str, kind: str, unit: bool, in_sync: bool, remotes: int, pins: int) -> Device:
    device = Device(
        pk=pk,
        name=name,
        kind=kind,
        owner_user_id=None if unit else 7,
        unit_id=40 + pk if unit else None,
        desired_version=3,
        reported_version=3 if in_sync else 2,
    )
    device.unit_number = f"{100 + pk}<号>" if unit else None  # type: ignore[attr-defined]
    device.property_name = "メゾン&ソレイユ" if unit else None  # type: ignore[attr-defined]
    device.remote_setting_count = remotes  # type: ignore[attr-defined]
    device.pin_code_count = pins  # type: ignore[attr-defined]
    return device


def _items() -> list[DeviceListItem]:
    """One item for every combination of kind, unit, sync state, counts (0, 1, many) and name."""
    combinations = itertools.product(
        [Device.Kind.HUB, Device.Kind.SMART_LOCK], [False, True], [True, False], [0, 1, 12], NAMES
    )
    return [
        _device_list_item(
            _device(pk, name=name, kind=kind, unit=unit, in_sync=in_sync, remotes=count, pins=(count + 1) % 3)
        )
        for pk, (kind, unit, in_sync, count, name) in enumerate(combinations, start=1)
    ]


def _template(items: list[DeviceListItem]) -> str:
    return (
        Engine(libraries={"i18n": "django.templatetags.i18n"})
        .from_string(DEVICE_ITEMS)
        .render(Context({"devices": items}))
    )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_same_html_as_the_template_for_every_kind_of_device(language):
    with override(language):
        items = _items()
        for item in items:  # each line alone, then all of them as one list
            assert device_items([item]) == _template([item]), item
        assert device_items(items) == _template(items)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_empty_list_is_what_the_template_wrote(language):
    with override(language):
        assert device_items([]) == _template([]) == "\n\n"


def test_names_are_escaped_never_markup():
    item = _items()[1]
    html = device_items([item])
    assert "Tom &amp; &quot;Jerry&quot; &lt;b&gt;lock&lt;/b&gt;" in html
    assert "<b>" not in html


def test_the_english_line_is_translated():
    with override("en"):
        unsynced = next(item for item in _items() if not item.device.is_in_sync)
        html = device_items([unsynced])
    assert "反映中" not in html
    assert "sync-status-setting" in html
