"""The edit page (SPEC "Editing"): nickname, read-only basics, phone and e-mail changes."""

from __future__ import annotations

import datetime
from http import HTTPStatus

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import AccountSession, Profile, User, VerificationCode
from accounts.services.profile import user_phone_change
from myspacecore.tenancy.models import Operator
from myspacecore.tenancy.selectors import operator_contact_for_user
from tests.accounts.profile_helpers import (
    attributes_seed,
    last_email_code,
    last_sms_code,
    post_on_commit,
    signed_in,
    wrong_code,
)
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, StaffFactory, attribute
from tests.foundation.test_plain_sql_rows import assert_same_instance

pytestmark = pytest.mark.django_db

NEW_PHONE = "+819087654321"
START = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


def url(name: str) -> str:
    return reverse(f"accounts:{name}")


def owner_profile(**kwargs) -> Profile:
    return ProfileFactory(user__attribute=attribute("owner"), **kwargs)


# The page
# ------------------------------------------------------------------------------


def test_edit_page_shows_nickname_form_and_read_only_basics():
    profile = owner_profile(nickname="さくら", birth_year=1990, gender=Profile.Gender.FEMALE)
    response = signed_in(profile.user).get(url("profile"))
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "設定情報変更" in content
    assert 'value="さくら"' in content
    assert "1990年" in content
    assert "女性" in content
    assert 'name="birth_year"' not in content
    assert 'name="gender"' not in content


def test_anonymous_visitor_cannot_open_the_edit_page():
    response = Client().get(url("profile"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(url("signin"))


def test_staff_account_cannot_open_the_edit_page():
    assert signed_in(StaffFactory()).get(url("profile")).status_code == HTTPStatus.FORBIDDEN


def test_resident_without_profile_is_sent_to_the_wizard_from_the_edit_page():
    response = signed_in(ResidentFactory()).get(url("profile"))
    assert response["Location"] == url("register")


# Nickname
# ------------------------------------------------------------------------------


def test_nickname_change_saves_and_says_so():
    profile = owner_profile(nickname="前")
    response = signed_in(profile.user).post(url("profile"), {"nickname": " 後 "}, follow=True)
    assert "ニックネームを変更しました" in response.content.decode()
    profile.refresh_from_db()
    assert profile.nickname == "後"


def test_nickname_change_refused_keeps_what_was_typed_and_the_old_value():
    profile = owner_profile(nickname="前")
    response = signed_in(profile.user).post(url("profile"), {"nickname": "あ" * 11})
    assert response.status_code == HTTPStatus.OK
    assert "あ" * 11 in response.content.decode()
    profile.refresh_from_db()
    assert profile.nickname == "前"


def test_birth_year_and_gender_posted_with_nickname_are_ignored():
    profile = owner_profile(birth_year=1990, gender=Profile.Gender.FEMALE)
    signed_in(profile.user).post(url("profile"), {"nickname": "新", "birth_year": "2000", "gender": "male"})
    profile.refresh_from_db()
    assert (profile.nickname, profile.birth_year, profile.gender) == ("新", 1990, "female")


# Phone number change
# ------------------------------------------------------------------------------


def test_phone_change_by_sms_code_changes_the_number_and_notifies_the_old_one(django_capture_on_commit_callbacks):
    profile = owner_profile()
    user = profile.user
    old_phone = user.phone_number.as_e164
    client = signed_in(user)
    assert "変更する" in client.get(url("profile")).content.decode()
    page = client.get(url("profile_phone"))
    assert "送信する" in page.content.decode()

    response = post_on_commit(
        django_capture_on_commit_callbacks, client, url("profile_phone"), {"phone_number": "090-8765-4321"}
    )
    assert response["Location"] == url("profile_phone_verify")
    code = VerificationCode.objects.get(purpose=VerificationCode.Purpose.PHONE_CHANGE)
    assert (code.target, code.channel) == (NEW_PHONE, VerificationCode.Channel.SMS)
    assert "認証する" in client.get(url("profile_phone_verify")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("profile_phone_verify"), {"code": last_sms_code(NEW_PHONE)}, follow=True)
    assert "電話番号を変更しました" in response.content.decode()
    user.refresh_from_db()
    assert user.phone_number.as_e164 == NEW_PHONE
    notices = [message for message in sms.outbox if message.to == old_phone]
    assert len(notices) == 1
    assert "電話番号が変更されました" in notices[0].body
    assert NEW_PHONE not in notices[0].body


def test_phone_change_ends_the_accounts_other_sessions(django_capture_on_commit_callbacks):
    user = owner_profile().user
    other_device = signed_in(user)
    this_device = signed_in(user)
    assert other_device.get(url("profile")).status_code == HTTPStatus.OK
    post_on_commit(django_capture_on_commit_callbacks, this_device, url("profile_phone"), {"phone_number": NEW_PHONE})
    with django_capture_on_commit_callbacks(execute=True):
        this_device.post(url("profile_phone_verify"), {"code": last_sms_code(NEW_PHONE)})
    assert this_device.get(url("profile")).status_code == HTTPStatus.OK
    # The other device's row is gone from the table; this device's session lives on (a new key).
    assert list(AccountSession.objects.filter(account_id=user.pk).values_list("session_key", flat=True)) == [
        this_device.session.session_key
    ]
    response = other_device.get(url("profile"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(url("signin"))


def test_phone_change_by_operator_ends_every_session_and_notifies(django_capture_on_commit_callbacks):
    user = ProfileFactory(user__attribute=attribute("rental_resident")).user
    old_phone = user.phone_number.as_e164
    device = signed_in(user)
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        user_phone_change(user=user, new_phone="090-8765-4321", acting_user=staff)
    assert User.objects.get(pk=user.pk).phone_number.as_e164 == NEW_PHONE
    assert device.get(url("profile")).status_code == HTTPStatus.FOUND
    assert [message.to for message in sms.outbox] == [old_phone]


def test_phone_used_by_another_account_is_refused_only_after_its_code_without_saying_whose(
    django_capture_on_commit_callbacks,
):
    other = ProfileFactory(user__phone_number=NEW_PHONE, nickname="ほかの人", email="other@example.jp")
    user = owner_profile().user
    old_phone = user.phone_number.as_e164
    client = signed_in(user)
    # Sending answers as for any number: the page does not tell that an account uses it.
    capture = django_capture_on_commit_callbacks
    response = post_on_commit(capture, client, url("profile_phone"), {"phone_number": NEW_PHONE})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == url("profile_phone_verify")

    response = client.post(url("profile_phone_verify"), {"code": last_sms_code(NEW_PHONE)}, follow=True)
    content = response.content.decode()
    assert "この電話番号は使用できません" in content
    assert other.nickname not in content
    assert other.email not in content
    assert User.objects.get(pk=user.pk).phone_number.as_e164 == old_phone
    assert User.objects.get(pk=other.user.pk).phone_number.as_e164 == NEW_PHONE


def test_phone_same_as_current_is_refused():
    user = owner_profile().user
    response = signed_in(user).post(url("profile_phone"), {"phone_number": str(user.phone_number)})
    assert "現在の電話番号と同じです" in response.content.decode()


def test_invalid_phone_number_gets_a_message_not_an_error():
    user = owner_profile().user
    response = signed_in(user).post(url("profile_phone"), {"phone_number": "12ab"})
    assert response.status_code == HTTPStatus.OK
    assert "正しい電話番号を入力してください" in response.content.decode()
    assert 'value="12ab"' in response.content.decode()


def test_wrong_phone_code_waits_and_goes_back_with_the_number_kept(django_capture_on_commit_callbacks):
    user = owner_profile().user
    client = signed_in(user)
    with time_machine.travel(START, tick=False):
        post_on_commit(django_capture_on_commit_callbacks, client, url("profile_phone"), {"phone_number": NEW_PHONE})
        response = client.post(url("profile_phone_verify"), {"code": wrong_code(last_sms_code(NEW_PHONE))}, follow=True)
    content = response.content.decode()
    assert response.redirect_chain[-1][0] == url("profile_phone")
    assert "認証コードが正しくありません" in content
    assert 'value="090-8765-4321"' in content
    assert 'data-countdown="30"' in content
    user.refresh_from_db()
    assert user.phone_number.as_e164 != NEW_PHONE


def test_phone_verify_page_without_a_sent_code_goes_back_to_the_number():
    user = owner_profile().user
    assert signed_in(user).get(url("profile_phone_verify"))["Location"] == url("profile_phone")


# E-mail set / change
# ------------------------------------------------------------------------------


def test_email_link_says_set_when_none_and_change_when_set():
    without = owner_profile(email=None)
    with_email = owner_profile(email="sakura@example.jp")
    assert "設定する" in signed_in(without.user).get(url("profile")).content.decode()
    content = signed_in(with_email.user).get(url("profile")).content.decode()
    assert "sakura@example.jp" in content
    assert url("profile_email") in content
    assert "設定する" not in content


def test_email_set_by_code(django_capture_on_commit_callbacks):
    profile = owner_profile(email=None)
    client = signed_in(profile.user)
    response = post_on_commit(
        django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "Sakura@Example.jp"}
    )
    assert response["Location"] == url("profile_email_verify")
    code = VerificationCode.objects.get(purpose=VerificationCode.Purpose.EMAIL)
    assert code.target == "sakura@example.jp"
    page = client.get(url("profile_email_verify")).content.decode()
    assert "noreply@my.space-core.net" in page
    response = client.post(url("profile_email_verify"), {"code": last_email_code("Sakura@Example.jp")}, follow=True)
    assert "メールアドレスを設定しました" in response.content.decode()
    profile.refresh_from_db()
    assert profile.email == "Sakura@Example.jp"


def test_email_change_notifies_the_old_address(django_capture_on_commit_callbacks):
    profile = owner_profile(email="old@example.jp")
    client = signed_in(profile.user)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "new@example.jp"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("profile_email_verify"), {"code": last_email_code("new@example.jp")})
    profile.refresh_from_db()
    assert profile.email == "new@example.jp"
    notices = [message for message in mail.outbox if message.to == ["old@example.jp"]]
    assert len(notices) == 1
    assert "new@example.jp" not in notices[0].body


def test_email_used_by_another_account_is_refused_at_change_only_after_its_code(django_capture_on_commit_callbacks):
    ProfileFactory(email="taken@example.jp")
    profile = owner_profile()
    client = signed_in(profile.user)
    capture = django_capture_on_commit_callbacks
    response = post_on_commit(capture, client, url("profile_email"), {"email": "Taken@example.jp"})
    assert response["Location"] == url("profile_email_verify")
    response = client.post(url("profile_email_verify"), {"code": last_email_code("Taken@example.jp")}, follow=True)
    assert "このメールアドレスは使用できません" in response.content.decode()
    profile.refresh_from_db()
    assert profile.email is None


def test_wrong_email_code_goes_back_with_the_address_kept(django_capture_on_commit_callbacks):
    profile = owner_profile()
    client = signed_in(profile.user)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "new@example.jp"})
    response = client.post(
        url("profile_email_verify"), {"code": wrong_code(last_email_code("new@example.jp"))}, follow=True
    )
    content = response.content.decode()
    assert "認証コードが正しくありません" in content
    assert 'value="new@example.jp"' in content
    profile.refresh_from_db()
    assert profile.email is None


def test_phone_change_code_never_verifies_an_email(django_capture_on_commit_callbacks):
    profile = owner_profile()
    client = signed_in(profile.user)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_phone"), {"phone_number": NEW_PHONE})
    phone_code = last_sms_code(NEW_PHONE)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "new@example.jp"})
    if last_email_code("new@example.jp") == phone_code:
        pytest.skip("the two random codes happen to be equal")
    response = client.post(url("profile_email_verify"), {"code": phone_code}, follow=True)
    assert "認証コードが正しくありません" in response.content.decode()
    profile.refresh_from_db()
    assert profile.email is None


def test_email_change_says_changed_when_an_address_was_set(django_capture_on_commit_callbacks):
    profile = owner_profile(email="old@example.jp")
    client = signed_in(profile.user)
    post_on_commit(django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "new@example.jp"})
    response = client.post(url("profile_email_verify"), {"code": last_email_code("new@example.jp")}, follow=True)
    assert "メールアドレスを変更しました" in response.content.decode()


def test_too_many_code_sends_answer_429_with_retry_after(django_capture_on_commit_callbacks):
    profile = owner_profile()
    client = signed_in(profile.user)
    with time_machine.travel(START, tick=False) as clock:
        # 10 codes an hour per address (and per account): six typos still fit.
        for n in range(10):
            response = post_on_commit(
                django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "new@example.jp"}
            )
            assert response.status_code == HTTPStatus.FOUND, n
            clock.shift(31)
        response = post_on_commit(
            django_capture_on_commit_callbacks, client, url("profile_email"), {"email": "new@example.jp"}
        )
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0
    assert "の送信が1時間に10回を超えたため、一時的に受け付けを止めています。" in response.content.decode()
    assert len(mail.outbox) == 10


# A real commit, so the delivery is enqueued inside the request as in production.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_broker_down_answers_503_and_changes_nothing(monkeypatch):
    attributes_seed()
    from kombu.exceptions import OperationalError

    from accounts import tasks

    def refuse(*args, **kwargs):
        raise OperationalError("broker down")

    monkeypatch.setattr(tasks.verification_code_send, "apply_async", refuse)
    profile = owner_profile()
    client = signed_in(profile.user)
    response = client.post(url("profile_phone"), {"phone_number": NEW_PHONE})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "ただいま送信できません" in response.content.decode()
    assert client.get(url("profile_phone_verify"))["Location"] == url("profile_phone")
    profile.user.refresh_from_db()
    assert profile.user.phone_number.as_e164 != NEW_PHONE


def test_edit_page_query_count_is_bounded(django_assert_max_num_queries):
    profile = ProfileFactory(user__attribute=attribute("rental_resident"))
    LeaseFactory(resident=profile.user)
    client = signed_in(profile.user)
    with django_assert_max_num_queries(8):
        assert client.get(url("profile")).status_code == HTTPStatus.OK


# Operator contact
# ------------------------------------------------------------------------------


def test_rental_resident_sees_the_operators_contact_instead_of_change():
    user = ProfileFactory(user__attribute=attribute("rental_resident")).user
    lease = LeaseFactory(resident=user, phone_number=str(user.phone_number))
    operator = lease.unit.property.operator
    content = signed_in(user).get(url("profile")).content.decode()
    assert "管理会社様にご連絡の上、電話番号の変更をご依頼ください" in content
    assert operator.name in content
    assert operator.contact_phone in content
    assert url("profile_phone") not in content


def test_residents_of_two_companies_each_see_their_own_companys_contact():
    """The panel is rendered once per contact and reused: a company's change shows at once,
    and one company's contact never shows to another's resident."""
    pages = []
    residents = []
    for _ in range(2):
        user = ProfileFactory(user__attribute=attribute("rental_resident")).user
        residents.append(
            (user, LeaseFactory(resident=user, phone_number=str(user.phone_number)).unit.property.operator)
        )
    first, second = residents
    assert first[1].contact_email != second[1].contact_email
    for user, _operator in (first, second, first):
        pages.append(signed_in(user).get(url("profile")).content.decode())
    for page, (_user, operator) in zip(pages, (first, second, first), strict=True):
        other = second[1] if operator == first[1] else first[1]
        assert operator.name in page and f'href="mailto:{operator.contact_email}"' in page
        assert f'href="mailto:{other.contact_email}"' not in page
    Operator.objects.filter(pk=first[1].pk).update(contact_phone="0120-999-888")
    assert 'href="tel:0120-999-888"' in signed_in(first[0]).get(url("profile")).content.decode()


@pytest.mark.parametrize("name", ["profile_phone", "profile_phone_verify"])
def test_rental_resident_opening_the_phone_page_directly_is_told_to_ask_the_company(name):
    user = ProfileFactory(user__attribute=attribute("rental_resident")).user
    lease = LeaseFactory(resident=user, phone_number=str(user.phone_number))
    operator = lease.unit.property.operator
    client = signed_in(user)

    response = client.get(url(name))

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "管理会社様にご連絡の上、電話番号の変更をご依頼ください" in content
    assert operator.name in content
    assert f'href="tel:{operator.contact_phone}"' in content
    assert f'href="mailto:{operator.contact_email}"' in content
    assert operator.contact_hours in content
    assert 'name="phone_number"' not in content
    assert "no-store" in response["Cache-Control"]
    refused = client.post(url(name), {"phone_number": "090-8765-4321", "code": "123456"})
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert operator.name in refused.content.decode()


def test_without_a_company_the_phone_page_names_spacecore_support(settings):
    settings.SUPPORT_CONTACT_PHONE = "0120-111-222"
    user = ProfileFactory(user__attribute=attribute("managed")).user
    content = signed_in(user).get(url("profile_phone")).content.decode()
    assert "SpaceCore サポートにお問い合わせください" in content
    assert 'href="tel:0120-111-222"' in content
    assert "support@space-core.net" in content


def test_operator_contact_is_of_the_current_lease_not_an_ended_one():
    user = ResidentFactory(attribute=attribute("rental_resident"))
    today = datetime.date.today()
    LeaseFactory(
        resident=user, start_date=today - datetime.timedelta(days=400), end_date=today - datetime.timedelta(days=10)
    )
    current = LeaseFactory(resident=user, start_date=today - datetime.timedelta(days=5))
    found = operator_contact_for_user(user=user)
    assert found == current.unit.property.operator
    # Read in plain SQL: the instance the ORM reads, field by field.
    assert_same_instance(found, Operator.objects.get(pk=found.pk))


def test_operator_contact_is_none_without_a_lease():
    assert operator_contact_for_user(user=ResidentFactory()) is None


def test_sessions_table_is_untouched_by_a_nickname_change():
    profile = owner_profile()
    client = signed_in(profile.user)
    before = AccountSession.objects.count()
    client.post(url("profile"), {"nickname": "新"})
    assert AccountSession.objects.count() == before
    assert client.get(url("profile")).status_code == HTTPStatus.OK


def test_own_phone_change_moves_the_current_roster_entry_to_the_new_number():
    user = owner_profile().user
    lease = LeaseFactory(phone_number=user.phone_number.as_e164, resident=user)
    user_phone_change(user=user, new_phone="090-8765-4321", acting_user=user)
    lease.refresh_from_db()
    assert lease.phone_number.as_e164 == NEW_PHONE


@pytest.mark.parametrize("number", ["03-1234-5678", "0990-123-456", "+1 268 464 1234", ""])
def test_phone_change_refuses_numbers_that_cannot_receive_our_sms(number):
    user = owner_profile().user
    old_phone = user.phone_number.as_e164
    with pytest.raises(ValidationError):
        user_phone_change(user=user, new_phone=number, acting_user=user)
    assert User.objects.get(pk=user.pk).phone_number.as_e164 == old_phone
