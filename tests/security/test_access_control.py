"""Broken access control (ASVS V8, OWASP A01): another resident's objects by id, and mass assignment."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, User
from smarthome.models import PinCode, RemoteControlSetting
from tests.factories import LeaseFactory, OperatorFactory, ProfileFactory, ResidentFactory, StaffFactory, attribute
from tests.smarthome.factories import (
    DeviceFactory,
    PinCodeFactory,
    RemoteControlSettingFactory,
    SmartLockFactory,
    UnitSmartLockFactory,
)

pytestmark = pytest.mark.django_db

REMOTE = {"name": "奪ったエアコン", "appliance_type": "tv", "maker": "X", "signal_data": "evil"}
PIN = {"label": "合鍵", "pin": "583920"}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def victim_objects():
    """Resident B's hub with a remote, and B's smart lock with a PIN."""
    victim = ProfileFactory().user
    hub = DeviceFactory(owner_user=victim)
    lock = SmartLockFactory(owner_user=victim)
    return {
        "device": hub,
        "lock": lock,
        "remote": RemoteControlSettingFactory(device=hub),
        "pin": PinCodeFactory(device=lock),
    }


def attacks(objects) -> list[tuple[str, str, dict | None]]:
    """(method, url, data) of every smart-home page, aimed at B's objects."""
    remote, pin = objects["remote"], objects["pin"]
    return [
        ("get", reverse("smarthome:device_detail", args=[objects["device"].pk]), None),
        ("get", reverse("smarthome:device_detail", args=[objects["lock"].pk]), None),
        ("post", reverse("smarthome:remote_setting_create", args=[objects["device"].pk]), REMOTE),
        ("get", reverse("smarthome:remote_setting_update", args=[remote.pk]), None),
        ("post", reverse("smarthome:remote_setting_update", args=[remote.pk]), REMOTE),
        ("post", reverse("smarthome:remote_setting_delete", args=[remote.pk]), {}),
        ("post", reverse("smarthome:pin_code_create", args=[objects["lock"].pk]), PIN),
        ("post", reverse("smarthome:pin_code_delete", args=[pin.pk]), {}),
    ]


def assert_untouched(objects) -> None:
    remote = RemoteControlSetting.objects.get(pk=objects["remote"].pk)
    assert (remote.name, remote.signal_data) == (objects["remote"].name, objects["remote"].signal_data)
    assert RemoteControlSetting.objects.count() == 1
    assert list(PinCode.objects.values_list("pk", flat=True)) == [objects["pin"].pk]


def test_resident_a_reading_or_changing_b_devices_remotes_and_pins_by_id_gets_404(victim_objects):
    """Every lookup goes through a `*_for_user` selector: another account's id is simply not found."""
    attacker = signed_in(ProfileFactory().user)
    for method, url, data in attacks(victim_objects):
        response = getattr(attacker, method)(url, data)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, url)
    assert_untouched(victim_objects)
    assert victim_objects["device"].name not in attacker.get(reverse("smarthome:device_list")).content.decode()


def test_former_tenant_loses_the_unit_lock_when_the_lease_ends():
    """Unit devices are visible only through a lease in force: a lease that ended yesterday opens nothing."""
    lock = UnitSmartLockFactory()
    pin = PinCodeFactory(device=lock)
    former = ProfileFactory().user
    today = timezone.localdate()
    LeaseFactory(
        unit=lock.unit,
        resident=former,
        start_date=today - datetime.timedelta(days=400),
        end_date=today - datetime.timedelta(days=1),
    )
    client = signed_in(former)
    assert client.get(reverse("smarthome:device_detail", args=[lock.pk])).status_code == HTTPStatus.NOT_FOUND
    assert client.post(reverse("smarthome:pin_code_delete", args=[pin.pk])).status_code == HTTPStatus.NOT_FOUND
    assert PinCode.objects.filter(pk=pin.pk).exists()


def test_anonymous_visitor_reaches_no_smart_home_page(victim_objects):
    for method, url, data in attacks(victim_objects):
        response = getattr(Client(), method)(url, data)
        assert response.status_code == HTTPStatus.FOUND, (method, url)
        assert response.url.startswith(reverse("accounts:signin"))
    assert_untouched(victim_objects)


@pytest.mark.parametrize("is_superuser", [False, True])
def test_staff_get_403_on_every_smart_home_page(victim_objects, is_superuser):
    """Staff are signed in but are not residents: 403, as on accounts' resident pages, not an empty page."""
    staff = signed_in(StaffFactory(is_superuser=is_superuser))
    for method, url, data in [("get", reverse("smarthome:device_list"), None), *attacks(victim_objects)]:
        response = getattr(staff, method)(url, data)
        assert response.status_code == HTTPStatus.FORBIDDEN, (method, url)
    assert_untouched(victim_objects)


HIDDEN_FIELDS = {
    "is_staff": "on",
    "is_superuser": "on",
    "is_active": "on",
    "birth_year": "1950",
    "gender": "male",
    "phone_number": "090-8765-4321",
    "email": "attacker@example.jp",
}


def test_mass_assignment_of_hidden_fields_on_the_profile_edit_page():
    """Only the nickname is bound: user, staff flags, attribute, operator, birth year, gender stay put."""
    profile = ProfileFactory(user__attribute=attribute("managed"), birth_year=1985, gender=Profile.Gender.FEMALE)
    victim = ProfileFactory().user
    operator = OperatorFactory()
    data = {
        "nickname": "新しい名前",
        **HIDDEN_FIELDS,
        "user": victim.pk,
        "attribute": attribute("owner").pk,
        "operator": operator.pk,
    }
    response = signed_in(profile.user).post(reverse("accounts:profile"), data)
    assert response.status_code == HTTPStatus.FOUND
    profile.refresh_from_db()
    user = User.objects.get(pk=profile.user_id)
    assert profile.nickname == "新しい名前"
    assert (profile.birth_year, profile.gender, profile.email) == (1985, Profile.Gender.FEMALE, None)
    assert (user.is_staff, user.is_superuser, user.operator_id) == (False, False, None)
    assert user.attribute.code == "managed"
    assert user.phone_number == profile.user.phone_number
    assert Profile.objects.get(user=victim).nickname != "新しい名前"


def test_mass_assignment_in_the_registration_wizard():
    """A managed account (no e-mail) slips extra fields into step 1: only the three basics are kept."""
    user = ResidentFactory(attribute=attribute("managed"))
    client = signed_in(user)
    basics = {"nickname": "さくら", "birth_year": "1990", "gender": "female"}
    client.post(
        reverse("accounts:register"),
        {**basics, **{k: v for k, v in HIDDEN_FIELDS.items() if k not in basics}, "attribute": 1, "operator": 1},
    )
    confirm = client.get(reverse("accounts:register_confirm"))
    rev = confirm.context["rev"]
    client.post(reverse("accounts:register_confirm"), {"rev": rev, "email": "attacker@example.jp", "user": 1})
    profile = Profile.objects.get(user=user)
    assert (profile.nickname, profile.birth_year, profile.gender, profile.email) == ("さくら", 1990, "female", None)
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.attribute.code, user.operator_id) == (
        False,
        False,
        "managed",
        None,
    )


def test_mass_assignment_of_device_on_smart_home_forms(victim_objects):
    """`device` in the body never moves a remote or a PIN onto another account's device."""
    attacker = ProfileFactory().user
    own_hub = DeviceFactory(owner_user=attacker)
    own_lock = SmartLockFactory(owner_user=attacker)
    client = signed_in(attacker)
    client.post(
        reverse("smarthome:remote_setting_create", args=[own_hub.pk]),
        {**REMOTE, "device": victim_objects["device"].pk},
    )
    client.post(
        reverse("smarthome:pin_code_create", args=[own_lock.pk]),
        {**PIN, "device": victim_objects["lock"].pk, "device_id": victim_objects["lock"].pk},
    )
    assert RemoteControlSetting.objects.get(name=REMOTE["name"]).device_id == own_hub.pk
    assert PinCode.objects.get(label=PIN["label"]).device_id == own_lock.pk
    assert RemoteControlSetting.objects.filter(device=victim_objects["device"]).count() == 1
    assert PinCode.objects.filter(device=victim_objects["lock"]).count() == 1
