"""My page (マイページ): greeting and the links to MySpaceCore and the smart-home pages."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.profile_helpers import signed_in
from tests.factories import LeaseFactory, OperatorFactory, ProfileFactory, ResidentFactory, UnitFactory

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


def test_mypage_lists_the_leases_waiting_for_the_residents_answer_and_only_those(client):
    profile = ProfileFactory()
    number = str(profile.user.phone_number)
    unit = UnitFactory(number="305", property__name="青空ハイツ", property__operator=OperatorFactory(name="空管理"))
    LeaseFactory(phone_number=number, unit=unit)
    LeaseFactory(
        phone_number=number,
        unit__number="999",
        end_date=datetime.date(2000, 1, 1),
        start_date=datetime.date(1999, 1, 1),
    )
    LeaseFactory(unit__number="888")  # another number's
    client.force_login(profile.user)

    html = client.get(reverse("accounts:mypage")).content.decode()

    assert "確認が必要な登録があります" in html
    assert "空管理：青空ハイツ 305" in html
    assert "999" not in html and "888" not in html
    assert reverse("accounts:invitations") in html


def test_mypage_without_invitations_shows_no_panel(client):
    profile = ProfileFactory()
    LeaseFactory(unit__number="888")  # another number's
    client.force_login(profile.user)

    html = client.get(reverse("accounts:mypage")).content.decode()

    assert "確認が必要な登録があります" not in html
    assert reverse("accounts:invitations") not in html
