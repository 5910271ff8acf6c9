"""The session's user is loaded with its attribute and profile in one query (bench/README.md)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.backends import SessionUserBackend
from tests.accounts.profile_helpers import signed_in
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db


def test_session_user_comes_with_attribute_and_profile_in_one_query(django_assert_num_queries):
    profile = ProfileFactory()
    with django_assert_num_queries(1):
        user = SessionUserBackend().get_user(profile.user.pk)
        assert user.attribute.can_change_phone in (True, False)
        assert user.profile.nickname == profile.nickname


def test_session_user_without_profile_has_none(django_assert_num_queries):
    resident = ResidentFactory()
    with django_assert_num_queries(1):
        user = SessionUserBackend().get_user(resident.pk)
        assert not hasattr(user, "profile")


def test_deactivated_or_deleted_account_is_not_signed_in():
    resident = ResidentFactory(is_active=False)
    assert SessionUserBackend().get_user(resident.pk) is None
    assert SessionUserBackend().get_user(resident.pk + 1000) is None


def test_deactivated_account_session_goes_back_to_sign_in():
    resident = ProfileFactory().user
    client = signed_in(resident)
    resident.is_active = False
    resident.save(update_fields=["is_active"])
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("accounts:signin"))


def test_edit_page_of_a_rental_resident_takes_at_most_three_queries(django_assert_max_num_queries):
    lease = LeaseFactory(attribute=attribute("rental_resident"))
    profile = ProfileFactory(user__attribute=attribute("rental_resident"), user__phone_number=lease.phone_number)
    lease.resident = profile.user
    lease.acceptance = lease.Acceptance.ACCEPTED
    lease.save(update_fields=["resident", "acceptance"])
    client = signed_in(profile.user)
    client.get(reverse("accounts:profile"))
    # The session (in the database under the test settings), the user with its attribute and
    # profile, the operator of the current lease: 5 before the backend and without the cache.
    with django_assert_max_num_queries(3):
        response = client.get(reverse("accounts:profile"))
    assert response.status_code == HTTPStatus.OK
    assert "管理会社様にご連絡の上" in response.content.decode()
