"""My page (マイページ): greeting and the links to MySpaceCore and the smart-home pages."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.profile_helpers import signed_in
from tests.factories import ProfileFactory, ResidentFactory

pytestmark = pytest.mark.django_db


def test_mypage_greets_by_nickname_and_links_to_myspacecore_and_smarthome():
    profile = ProfileFactory(nickname="さくら")
    response = signed_in(profile.user).get(reverse("accounts:mypage"))
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "さくら さん、こんにちは。" in content
    assert f'href="{reverse("accounts:profile")}"' in content
    assert f'href="{reverse("smarthome:device_list")}"' in content


def test_mypage_escapes_the_nickname():
    profile = ProfileFactory(nickname="<b>x</b>")
    content = signed_in(profile.user).get(reverse("accounts:mypage")).content.decode()
    assert "<b>x</b>" not in content
    assert "&lt;b&gt;x&lt;/b&gt;" in content


def test_mypage_of_anonymous_visitor_goes_to_sign_in():
    response = Client().get(reverse("accounts:mypage"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("accounts:signin"))


def test_mypage_of_resident_without_profile_goes_to_the_wizard():
    response = signed_in(ResidentFactory()).get(reverse("accounts:mypage"))
    assert response["Location"] == reverse("accounts:register")
