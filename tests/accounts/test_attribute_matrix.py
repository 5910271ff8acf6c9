"""The attribute decides (SPEC "User attributes"): steps, links and refused POSTs per seeded attribute.

Each row is read from the seeded attribute itself, so the matrix also proves that the
pages follow the data: the expected columns are the attribute's flags, checked against
the SPEC table once in `test_seeded_attributes_match_the_spec_table`.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core import mail
from django.urls import reverse

from accounts import sms
from accounts.models import Profile, VerificationCode
from tests.accounts.profile_helpers import signed_in
from tests.factories import ProfileFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db

ATTRIBUTES = ["owner", "rental_resident", "managed"]
BASICS = {"nickname": "さくら", "birth_year": "1990", "gender": "female"}
# SPEC table: (e-mail step and Set/Change e-mail, self-service phone change)
SPEC = {"owner": (True, True), "rental_resident": (True, False), "managed": (False, False)}


def url(name: str) -> str:
    return reverse(f"accounts:{name}")


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_seeded_attributes_match_the_spec_table(code):
    seeded = attribute(code)
    assert (seeded.can_set_email, seeded.can_change_phone) == SPEC[code]


# Registration wizard
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_wizard_steps_follow_the_attribute(code):
    user = ResidentFactory(attribute=attribute(code))
    client = signed_in(user)
    response = client.post(url("register"), BASICS)
    email_allowed, _phone = SPEC[code]
    expected = url("register_email") if email_allowed else url("register_confirm")
    assert response["Location"] == expected
    step_one = client.get(url("register")).content.decode()
    assert ("メールアドレス" in step_one) is email_allowed  # the progress list names the e-mail step
    email_step = client.get(url("register_email"))
    assert email_step.status_code == (HTTPStatus.OK if email_allowed else HTTPStatus.FORBIDDEN)


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_wizard_email_post_refused_when_the_attribute_has_no_email(code, django_capture_on_commit_callbacks):
    user = ResidentFactory(attribute=attribute(code))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("register_email"), {"email": "sakura@example.jp"})
    code_response = client.post(url("register_code"), {"code": "123456"})
    email_allowed, _phone = SPEC[code]
    if email_allowed:
        assert response.status_code == HTTPStatus.FOUND
        assert len(mail.outbox) == 1
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert code_response.status_code == HTTPStatus.FORBIDDEN
        assert mail.outbox == []
        assert not VerificationCode.objects.exists()
    assert not Profile.objects.filter(user=user).exists()


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_summary_shows_email_row_only_when_the_attribute_allows(code):
    user = ResidentFactory(attribute=attribute(code))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    if SPEC[code][0]:
        client.post(url("register_email"), {"skip": "1"})
    content = client.get(url("register_confirm")).content.decode()
    assert ("メールアドレス" in content) is SPEC[code][0]


# Edit page
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_edit_page_links_follow_the_attribute(code):
    profile = ProfileFactory(user__attribute=attribute(code))
    content = signed_in(profile.user).get(url("profile")).content.decode()
    email_allowed, phone_allowed = SPEC[code]
    assert "設定情報変更" in content
    assert (url("profile_phone") in content) is phone_allowed
    assert ("管理会社様にご連絡の上、電話番号の変更をご依頼ください" in content) is not phone_allowed
    assert (url("profile_email") in content) is email_allowed
    assert ("設定する" in content) is email_allowed


@pytest.mark.parametrize("code", ATTRIBUTES)
@pytest.mark.parametrize("name", ["profile_phone", "profile_phone_verify"])
def test_phone_change_pages_and_posts_refused_unless_the_attribute_allows(code, name):
    profile = ProfileFactory(user__attribute=attribute(code))
    user = profile.user
    phone_before = user.phone_number
    client = signed_in(user)
    get = client.get(url(name))
    post = client.post(url(name), {"phone_number": "090-8765-4321", "code": "123456"})
    if SPEC[code][1]:
        assert get.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
        assert post.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    else:
        # Issue 16: opened directly, the page says whom to ask instead of a bare 403.
        assert get.status_code == HTTPStatus.OK
        assert "ご自身で電話番号を変更することはできません" in get.content.decode()
        assert post.status_code == HTTPStatus.FORBIDDEN
        user.refresh_from_db()
        assert user.phone_number == phone_before
        assert sms.outbox == []
        assert not VerificationCode.objects.exists()


@pytest.mark.parametrize("code", ATTRIBUTES)
@pytest.mark.parametrize("name", ["profile_email", "profile_email_verify"])
def test_email_change_pages_and_posts_refused_unless_the_attribute_allows(code, name):
    profile = ProfileFactory(user__attribute=attribute(code))
    client = signed_in(profile.user)
    get = client.get(url(name))
    post = client.post(url(name), {"email": "new@example.jp", "code": "123456"})
    if SPEC[code][0]:
        assert get.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    else:
        # Opened directly, the page says so and whom to ask instead of a bare 403 (as the phone pages).
        assert get.status_code == HTTPStatus.OK
        assert "メールアドレスを登録・変更することはできません" in get.content.decode()
        assert post.status_code == HTTPStatus.FORBIDDEN
        profile.refresh_from_db()
        assert profile.email is None
        assert mail.outbox == []
        assert not VerificationCode.objects.exists()


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_birth_year_and_gender_posts_are_ignored_for_every_attribute(code):
    profile = ProfileFactory(user__attribute=attribute(code), birth_year=1990, gender=Profile.Gender.FEMALE)
    client = signed_in(profile.user)
    client.post(url("profile"), {"nickname": "新しい名前", "birth_year": "2001", "gender": "male"})
    client.post(url("profile"), {"birth_year": "2001", "gender": "male"})
    profile.refresh_from_db()
    assert (profile.nickname, profile.birth_year, profile.gender) == ("新しい名前", 1990, "female")


@pytest.mark.parametrize("code", ATTRIBUTES)
def test_wizard_summary_post_cannot_smuggle_basics_or_email(code):
    user = ResidentFactory(attribute=attribute(code))
    client = signed_in(user)
    client.post(url("register"), BASICS)
    if SPEC[code][0]:
        client.post(url("register_email"), {"skip": "1"})
    rev = client.get(url("register_confirm")).context["rev"]
    client.post(
        url("register_confirm"),
        {"rev": rev, "birth_year": "2001", "gender": "male", "email": "smuggled@example.jp"},
    )
    profile = Profile.objects.get(user=user)
    assert (profile.birth_year, profile.gender, profile.email) == (1990, "female", None)


def test_pages_follow_an_attribute_edited_by_staff():
    """Policy is data: flipping the flag on the attribute changes the page, no code involved."""
    profile = ProfileFactory(user__attribute=attribute("managed"))
    managed = attribute("managed")
    managed.can_change_phone = True
    managed.save()
    content = signed_in(profile.user).get(url("profile")).content.decode()
    assert url("profile_phone") in content
