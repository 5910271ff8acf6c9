""" "Download my data" (APPI disclosure): the account's own data as JSON, PINs never in clear."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, UnitFactory, attribute
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitDeviceFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("accounts:data_download")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_download_is_a_json_attachment_with_profile_roster_and_settings_pins_masked(django_assert_max_num_queries):
    user = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=user, nickname="さくら", birth_year=1990, email="sakura@example.jp")
    unit = UnitFactory(number="203")
    LeaseFactory(unit=unit, resident=user, phone_number=user.phone_number)
    RemoteControlSettingFactory(device=UnitDeviceFactory(unit=unit), name="リビングのエアコン", maker="ダイキン")
    own_lock = SmartLockFactory(owner_user=user)
    PinCodeFactory(device=own_lock, label="家族", pin="706093")
    RemoteControlSettingFactory(device=DeviceFactory(owner_user=user), name="寝室の照明")
    client = signed_in(user)

    with django_assert_max_num_queries(12):
        response = client.get(URL)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="myspacecore-data-')
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "706093" not in body
    data = json.loads(body)
    assert data["account"]["phone_number"] == str(user.phone_number)
    assert data["profile"]["nickname"] == "さくら"
    assert data["profile"]["birth_year"] == 1990
    assert data["profile"]["email"] == "sakura@example.jp"
    assert data["leases"][0]["unit"] == "203"
    devices = {device["name"]: device for device in data["smart_home"]["devices"]}
    assert devices[own_lock.name]["pin_codes"] == [
        {"label": "家族", "pin": "••••", "valid_from": None, "valid_until": None, "state": "有効"}
    ]
    remotes = {remote["name"] for device in devices.values() for remote in device["remote_settings"]}
    assert remotes == {"リビングのエアコン", "寝室の照明"}


def test_download_holds_nothing_of_another_account():
    user = ProfileFactory(nickname="さくら").user
    other = ProfileFactory(nickname="もも", email="momo@example.jp").user
    PinCodeFactory(device=SmartLockFactory(owner_user=other), label="ももの鍵")
    body = signed_in(user).get(URL).content.decode()
    assert "もも" not in body
    assert str(other.phone_number) not in body


def test_download_needs_a_signed_in_resident(client):
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("accounts:signin"))


# The same data as a page to read and print
# ------------------------------------------------------------------------------

VIEW = reverse("accounts:data_view")


def scalars(value, key=""):
    """(key, value) of every scalar in the export, at any depth."""
    if isinstance(value, dict):
        for inner_key, inner in value.items():
            yield from scalars(inner, inner_key)
    elif isinstance(value, list):
        for entry in value:
            yield from scalars(entry, key)
    else:
        yield key, value


@pytest.fixture
def full_account():
    user = ResidentFactory(attribute=attribute("rental_resident"))
    ProfileFactory(user=user, nickname="さくら", birth_year=1990, email="sakura@example.jp")
    unit = UnitFactory(number="203")
    LeaseFactory(unit=unit, resident=user, phone_number=user.phone_number)
    RemoteControlSettingFactory(
        device=UnitDeviceFactory(unit=unit), name="リビングのエアコン", signal_data="preset:ac-01"
    )
    PinCodeFactory(device=SmartLockFactory(owner_user=user), label="家族", pin="706093")
    return user


def test_the_page_shows_every_value_of_the_json_file_and_no_pin(full_account):
    from accounts.views.export import LABELS, VALUE_NAMES, export_text

    client = signed_in(full_account)
    data = json.loads(client.get(URL).content)
    response = client.get(VIEW)

    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    shown = 0
    for key, value in scalars(data):
        assert key in LABELS, f"the export's key {key!r} has no label on the page"
        if value not in (None, ""):
            text = VALUE_NAMES[key][value] if key in VALUE_NAMES else export_text(value)
            assert escape(str(text)) in page, (key, value)
            shown += 1
    assert shown >= 25
    assert "706093" not in page
    assert "••••" in page
    assert "さくら" in page and "リビングのエアコン" in page and "203" in page
    assert "<dd>日本語</dd>" in page  # the language by its name, not its code


def test_the_page_writes_dates_for_people_not_iso(full_account):
    page = signed_in(full_account).get(VIEW).content.decode()
    joined = timezone.localtime(full_account.date_joined)
    assert f"{joined.year}年{joined.month}月{joined.day}日" in page
    assert timezone.localtime(full_account.date_joined).isoformat() not in page


def test_the_page_holds_nothing_of_another_account():
    user = ProfileFactory(nickname="さくら").user
    other = ProfileFactory(nickname="もも", email="momo@example.jp").user
    PinCodeFactory(device=SmartLockFactory(owner_user=other), label="ももの鍵")
    page = signed_in(user).get(VIEW).content.decode()
    assert "もも" not in page
    assert other.phone_number.as_national not in page and str(other.phone_number) not in page


def test_the_page_needs_a_signed_in_resident(client):
    response = client.get(VIEW)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("accounts:signin"))


def test_the_edit_page_links_the_page_and_the_file():
    content = signed_in(ProfileFactory().user).get(reverse("accounts:profile")).content.decode()
    assert f'href="{VIEW}"' in content
    assert f'href="{URL}" download' in content
