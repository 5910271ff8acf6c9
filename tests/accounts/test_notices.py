"""Change notices say whom to call and what to do if it was not the resident (issue 16, point 3).

An account-takeover victim reads them: a rental resident is sent to the management company of
the current lease with its contact, anybody else to SpaceCore support (SUPPORT_CONTACT_*).
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts import sms
from accounts.services.profile import profile_email_change, user_phone_change
from tests.accounts.profile_helpers import last_email_code, post_on_commit, signed_in
from tests.factories import LeaseFactory, OperatorFactory, ProfileFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db

OLD_EMAIL = "old@example.jp"
NEW_EMAIL = "new@example.jp"


@pytest.fixture(autouse=True)
def support(settings):
    settings.SUPPORT_CONTACT_PHONE = "0120-555-010"
    settings.SUPPORT_CONTACT_EMAIL = "help@space-core.example"


def rental_resident(**profile):
    """A rental resident with a current lease of 「みなと管理」."""
    user = ProfileFactory(user=ResidentFactory(attribute=attribute("rental_resident")), **profile).user
    operator = OperatorFactory(name="みなと管理", contact_phone="03-1234-5678", contact_email="desk@minato.example")
    LeaseFactory(resident=user, phone_number=user.phone_number.as_e164, unit__property__operator=operator)
    return user


def notice_to(address: str) -> str:
    notices = [message.body for message in mail.outbox if message.to == [address]]
    assert len(notices) == 1, notices
    return notices[0]


def test_a_rental_resident_s_own_e_mail_change_sends_the_old_address_to_the_company(
    django_capture_on_commit_callbacks,
):
    user = rental_resident(email=OLD_EMAIL)
    client = signed_in(user)
    post_on_commit(django_capture_on_commit_callbacks, client, reverse("accounts:profile_email"), {"email": NEW_EMAIL})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:profile_email_verify"), {"code": last_email_code(NEW_EMAIL)})

    body = notice_to(OLD_EMAIL)
    assert "みなと管理（03-1234-5678, desk@minato.example）" in body
    assert "お心当たりがない場合は" in body
    assert "元のメールアドレスに戻す手続き" in body
    assert "help@space-core.example" not in body
    assert NEW_EMAIL not in body


def test_an_owner_s_e_mail_change_names_spacecore_support_with_its_contact(django_capture_on_commit_callbacks):
    user = ProfileFactory(email=OLD_EMAIL).user
    with django_capture_on_commit_callbacks(execute=True):
        profile_email_change(user=user, email=NEW_EMAIL)
    body = notice_to(OLD_EMAIL)
    assert "SpaceCore サポート（0120-555-010, help@space-core.example）" in body
    assert "サポートまでご連絡ください" not in body  # the old notice, with no contact


def test_an_owner_s_own_phone_change_names_spacecore_support_in_the_sms_and_the_e_mail(
    django_capture_on_commit_callbacks,
):
    user = ProfileFactory(email=OLD_EMAIL).user
    old_phone = user.phone_number.as_e164
    with django_capture_on_commit_callbacks(execute=True):
        user_phone_change(user=user, new_phone="090-8765-4321", acting_user=user)
    [text] = [message.body for message in sms.outbox if message.to == old_phone]
    assert "SpaceCore サポート（0120-555-010, help@space-core.example）" in text
    body = notice_to(OLD_EMAIL)
    assert "SpaceCore サポート（0120-555-010, help@space-core.example）" in body
    assert "元の電話番号に戻す手続き" in body


def test_a_rental_resident_s_own_phone_change_names_the_company_not_support(django_capture_on_commit_callbacks):
    # An attribute that lets a rental resident change the number (platform staff may make one).
    user = rental_resident(email=OLD_EMAIL)
    old_phone = user.phone_number.as_e164
    with django_capture_on_commit_callbacks(execute=True):
        user_phone_change(user=user, new_phone="090-8765-4321", acting_user=user)
    [text] = [message.body for message in sms.outbox if message.to == old_phone]
    assert "みなと管理（03-1234-5678, desk@minato.example）" in text
    assert "によって変更されました" not in text  # the resident changed it, not the company
    assert "みなと管理（03-1234-5678, desk@minato.example）" in notice_to(OLD_EMAIL)


def test_a_notice_is_written_in_the_account_s_language(django_capture_on_commit_callbacks):
    user = rental_resident(email=OLD_EMAIL)
    user.language = "en"
    user.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        profile_email_change(user=user, email=NEW_EMAIL)
    [message] = [message for message in mail.outbox if message.to == [OLD_EMAIL]]
    assert "みなと管理 (03-1234-5678, desk@minato.example)" in message.body
    assert "If this was not you, someone else may have used your account." in message.body
    assert message.subject.isascii()
