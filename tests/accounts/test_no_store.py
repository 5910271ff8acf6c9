"""Personal pages are never kept by the browser: `Cache-Control: no-store` (issue 16, point 8).

The test walks every URL pattern of the resolver: a pattern is either named below as public
(with why) or it is a personal page, opened here as a signed-in resident, and must say
`no-store`. A new view is therefore checked the day it is added, without touching this file
(unless it takes a URL argument nobody has named yet: then this test says which).
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import User
from tests.factories import ProfileFactory, ResidentFactory, StaffFactory, attribute
from tests.smarthome.factories import PinCodeFactory, RemoteControlSettingFactory, SmartLockFactory

pytestmark = pytest.mark.django_db

# Pages that show nothing of a resident, or actions that only redirect.
PUBLIC = {
    "home": "the landing page; a signed-in resident is redirected to My page",
    "healthz": "service status (never_cache of its own)",
    "text_size": "POST only: sets a cookie and redirects",
    "set_language": "POST only: sets the language and redirects",
    "accounts:signin": "the number typed so far (never_cache of its own, tested below)",
    "accounts:signin_code": "the masked number (never_cache of its own, tested below)",
    "accounts:signin_code_status": "JSON of the session's own code's delivery, no personal data (never_cache"
    " of its own: tests/accounts/test_code_delivery_page.py)",
    "accounts:signout": "POST only: signs out and redirects",
    "accounts:deletion_done": "shown signed out; says that everything went (never_cache of its own)",
    "help:index": "the help centre, the same for everybody",
    "help:topic": "the help centre (a rental resident also sees the company's public contact)",
    "help:feedback": "POST only: stores an answer and redirects",
}
# Django's AdminSite.admin_view wraps every admin view in never_cache itself.
PUBLIC_NAMESPACES = {"admin"}


def named_patterns(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    """(namespaced name, pattern) of every named URL pattern, includes followed."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_patterns(entry, inner)
        elif entry.name:
            yield f"{namespace}{entry.name}", entry


def personal_pattern_names() -> list[str]:
    return sorted(
        name
        for name, _pattern in named_patterns()
        if name not in PUBLIC and name.split(":", 1)[0] not in PUBLIC_NAMESPACES
    )


@pytest.fixture
def residents():
    """A registered resident with a lock, a remote and a PIN; and one still in the wizard."""
    registered = ProfileFactory(user=ResidentFactory(attribute=attribute("owner")), email="hanako@example.jp").user
    lock = SmartLockFactory(owner_user=registered)
    objects = {
        "device_id": lock.pk,
        "remote_setting_id": RemoteControlSettingFactory(device=lock).pk,
        "pin_code_id": PinCodeFactory(device=lock).pk,
    }
    registering = ResidentFactory(attribute=attribute("rental_resident"))
    return registered, registering, objects


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_personal_url_is_named_and_none_is_left_out():
    names = personal_pattern_names()
    # The walk finds the pages the issue names (a sanity check of the walk, not the whole list).
    for expected in ("accounts:mypage", "accounts:profile", "accounts:profile_phone", "accounts:register",
                     "accounts:invitations", "accounts:data_download", "smarthome:device_list",
                     "smarthome:pin_code_create"):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("name", personal_pattern_names())
def test_every_personal_page_says_no_store(name, residents):
    registered, registering, objects = residents
    pattern = dict(named_patterns())[name]
    arguments = list(pattern.pattern.converters)
    missing = [argument for argument in arguments if argument not in objects]
    assert not missing, f"{name}: name an object for URL argument(s) {missing} in the residents fixture"
    url = reverse(name, kwargs={argument: objects[argument] for argument in arguments})
    user = registering if name.startswith("accounts:register") else registered

    response = client_of(user).get(url)

    assert response.status_code < HTTPStatus.BAD_REQUEST, (name, response.status_code)
    assert "no-store" in response.get("Cache-Control", ""), (name, response.get("Cache-Control"))


def test_my_page_and_the_edit_page_show_the_number_and_forbid_storing_it(residents):
    registered, _registering, _objects = residents
    client = client_of(registered)
    for url in (reverse("accounts:mypage"), reverse("accounts:profile")):
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK
        assert "no-store" in response["Cache-Control"]
    assert registered.phone_number.as_national in client.get(reverse("accounts:profile")).content.decode()


@pytest.mark.parametrize("name", ["accounts:signin", "accounts:signin_code", "accounts:deletion_done", "healthz"])
def test_the_public_pages_said_to_have_no_store_of_their_own_do(name):
    response = Client().get(reverse(name))
    assert "no-store" in response["Cache-Control"], name


def test_staff_get_403_on_my_page_as_on_every_resident_page():
    client = client_of(StaffFactory())
    assert client.get(reverse("accounts:mypage")).status_code == HTTPStatus.FORBIDDEN
