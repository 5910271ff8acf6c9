"""The session's user is loaded with its attribute and profile in one query (bench/README.md)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.backends import SessionUserBackend, user_with_attribute_and_profile
from accounts.models import User
from tests.accounts.profile_helpers import signed_in
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, StaffFactory, attribute
from tests.foundation.test_plain_sql_rows import assert_same_instance

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


def test_session_user_is_the_orms_select_related():
    """The plain query reads the same user, attribute and profile as the ORM's select_related."""
    profile = ProfileFactory(email="saki@example.jp", user__language="en")
    orm = User.objects.select_related("attribute", "profile").get(pk=profile.user.pk)

    plain = user_with_attribute_and_profile(profile.user.pk)

    assert_same_instance(plain, orm)
    assert_same_instance(plain.attribute, orm.attribute)
    assert_same_instance(plain.profile, orm.profile)
    assert plain.profile.user is plain
    assert plain.phone_number.as_e164 == orm.phone_number.as_e164


def test_session_user_without_attribute_or_profile_has_none_cached(django_assert_num_queries):
    staff = StaffFactory()
    with django_assert_num_queries(1):
        user = user_with_attribute_and_profile(staff.pk)
        assert user.attribute is None
        assert not hasattr(user, "profile")
    assert_same_instance(user, User.objects.get(pk=staff.pk))


def test_a_session_without_an_account_id_is_not_signed_in():
    assert SessionUserBackend().get_user("not-an-id") is None
    assert SessionUserBackend().get_user(None) is None


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
