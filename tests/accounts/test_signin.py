"""Sign-in pages: phone number → SMS code → signed in (SPEC "Sign-in", "User attributes")."""

from __future__ import annotations

import datetime
import re
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError
from phonenumber_field.phonenumber import PhoneNumber

from accounts import sms
from accounts.flows.signin import SESSION_PENDING
from accounts.models import User, VerificationCode
from accounts.services.invitations import lease_invitation_answer
from accounts.services.signin import resident_sign_in
from myspacecore.tenancy.models import Lease
from tests.accounts.verification_helpers import last_sms_code
from tests.factories import LeaseFactory, ProfileFactory, ResidentFactory, StaffFactory, attribute

pytestmark = pytest.mark.django_db

SIGNIN = reverse("accounts:signin")
SIGNIN_CODE = reverse("accounts:signin_code")
MYPAGE = reverse("accounts:mypage")
PHONE = "+819012345678"
NOW = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST a phone number with on-commit delivery run (eager Celery), return the response."""

    def send(phone="090-1234-5678", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(SIGNIN, {"phone_number": phone}, **extra)

    return send


def enter(client, code):
    return client.post(SIGNIN_CODE, {"code": code})


def sign_in(client, send, phone="090-1234-5678", e164=PHONE):
    assert send(phone).status_code == HTTPStatus.FOUND
    return enter(client, last_sms_code(e164))


def wrong(plain):
    return f"{(int(plain) + 1) % 1_000_000:06d}"


# Pages ------------------------------------------------------------------------------


def test_phone_page_has_a_tel_input(client):
    response = client.get(SIGNIN)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert 'type="tel"' in html
    assert 'autocomplete="tel"' in html
    assert 'name="phone_number"' in html


@pytest.mark.parametrize(
    "phone", ["090-1234-5678", "09012345678", "+81 90 1234 5678", "０９０－１２３４－５６７８", "+819012345678"]
)
def test_japanese_phone_formats_are_accepted(send, phone):
    response = send(phone)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SIGNIN_CODE
    assert [message.to for message in sms.outbox] == [PHONE]


@pytest.mark.parametrize(
    "phone",
    [
        "03-1234-5678",  # landline
        "050-1234-5678",  # IP phone
        "0120-123-456",  # toll free
        "+1 212 555 2368",  # abroad
        "+44 7400 123456",  # a foreign mobile
    ],
)
def test_only_japanese_mobile_numbers_get_an_sms(send, phone):
    response = send(phone)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "日本の携帯電話番号" in response.content.decode()
    assert sms.outbox == []


@pytest.mark.parametrize("phone", ["", "abc", "090-1234", "x" * 10_000, "090\x001234\x005678"])
def test_invalid_phone_gets_a_form_error(send, phone):
    response = send(phone)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert 'class="errors"' in response.content.decode()
    assert sms.outbox == []


def test_code_page_shows_masked_number_and_countdown(client, send):
    with time_machine.travel(NOW, tick=False):
        send()
        response = client.get(SIGNIN_CODE)
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    # As the resident writes it, its middle hidden (issue 16.7).
    assert "090-****-5678 に SMS で6桁の認証コードを送信しました" in html
    assert PHONE not in html and "090-1234-5678" not in html
    assert 'data-countdown="300"' in html
    assert ">5:00</span>" in html  # without JavaScript
    assert 'inputmode="numeric"' in html
    assert 'autocomplete="one-time-code"' in html


def test_code_page_without_a_pending_code_goes_back_to_the_phone_page(client):
    response = client.get(SIGNIN_CODE)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SIGNIN


def test_sms_is_sent_after_commit_only(client):
    # Without the on-commit callbacks the request has queued nothing yet.
    client.post(SIGNIN, {"phone_number": "090-1234-5678"})
    assert sms.outbox == []
    assert VerificationCode.objects.get().delivery == VerificationCode.Delivery.QUEUED


# Signing in --------------------------------------------------------------------------


def test_correct_code_signs_in_and_goes_to_mypage(client, send):
    response = sign_in(client, send)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == MYPAGE
    user = User.objects.get(phone_number=PHONE)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert SESSION_PENDING not in client.session


def test_full_width_code_signs_in(client, send):
    send()
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in last_sms_code(PHONE))
    response = enter(client, f"{full_width[:3]} {full_width[3:]}")
    assert response.url == MYPAGE


def test_unknown_number_becomes_an_owner(client, send):
    sign_in(client, send)
    assert User.objects.get(phone_number=PHONE).attribute.code == "owner"


def test_a_lease_naming_the_number_links_nothing_at_sign_in_and_is_shown_first(client, send):
    lease = LeaseFactory(phone_number=PHONE, attribute=attribute("managed"))
    response = sign_in(client, send)
    user = User.objects.get(phone_number=PHONE)
    assert user.attribute.code == "owner", "an operator's entry changes nothing until it is accepted"
    lease.refresh_from_db()
    assert lease.resident is None and lease.acceptance == Lease.Acceptance.PENDING
    assert response.url == MYPAGE
    assert client.get(MYPAGE).url == reverse("accounts:invitations")
    # Shown once per sign-in: "later" leads on to the site.
    assert client.get(MYPAGE).url == reverse("accounts:register")


def test_accepting_the_lease_links_it_and_takes_its_attribute(client, send):
    lease = LeaseFactory(phone_number=PHONE, attribute=attribute("managed"))
    sign_in(client, send)
    response = client.post(reverse("accounts:invitations"), {"lease": lease.pk, "answer": "accept"})
    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(phone_number=PHONE)
    lease.refresh_from_db()
    assert lease.resident == user and lease.acceptance == Lease.Acceptance.ACCEPTED
    assert user.attribute.code == "managed"


def test_declining_the_lease_leaves_the_account_as_it_was(client, send):
    lease = LeaseFactory(phone_number=PHONE, attribute=attribute("managed"))
    sign_in(client, send)
    client.post(reverse("accounts:invitations"), {"lease": lease.pk, "answer": "decline"})
    lease.refresh_from_db()
    assert lease.resident is None and lease.acceptance == Lease.Acceptance.DECLINED
    assert User.objects.get(phone_number=PHONE).attribute.code == "owner"


def test_a_future_lease_is_an_invitation_too_and_grants_its_attribute_once_it_starts():
    lease = LeaseFactory(
        phone_number=PHONE,
        attribute=attribute("rental_resident"),
        start_date=timezone.localdate() + datetime.timedelta(days=10),
    )
    user = resident_sign_in(phone_number=PHONE)
    lease_invitation_answer(user=user, lease_id=lease.pk, accept=True)
    user.refresh_from_db()
    assert user.attribute.code == "owner", "a lease not yet started grants nothing"
    with time_machine.travel(timezone.now() + datetime.timedelta(days=11)):
        user = resident_sign_in(phone_number=PHONE)
    assert user.attribute.code == "rental_resident"


def test_ended_lease_is_no_invitation():
    today = timezone.localdate()
    lease = LeaseFactory(
        phone_number=PHONE,
        start_date=today - datetime.timedelta(days=400),
        end_date=today - datetime.timedelta(days=1),
    )
    user = resident_sign_in(phone_number=PHONE)
    assert user.attribute.code == "owner"
    with pytest.raises(ValidationError):
        lease_invitation_answer(user=user, lease_id=lease.pk, accept=True)
    lease.refresh_from_db()
    assert lease.resident is None


def test_existing_account_is_reused_and_keeps_its_attribute_until_it_accepts():
    user = ResidentFactory(phone_number=PHONE)
    lease = LeaseFactory(phone_number=PHONE, attribute=attribute("rental_resident"))
    assert resident_sign_in(phone_number=PHONE) == user
    user.refresh_from_db()
    assert user.attribute.code == "owner"
    assert User.objects.filter(phone_number=PHONE).count() == 1
    lease_invitation_answer(user=user, lease_id=lease.pk, accept=True)
    user.refresh_from_db()
    assert user.attribute.code == "rental_resident"
    assert Lease.objects.get().resident == user


def test_another_numbers_lease_cannot_be_answered():
    user = resident_sign_in(phone_number=PHONE)
    other = LeaseFactory(phone_number="+819099998888")
    for accept in (True, False):
        with pytest.raises(ValidationError):
            lease_invitation_answer(user=user, lease_id=other.pk, accept=accept)
    other.refresh_from_db()
    assert other.acceptance == Lease.Acceptance.PENDING and other.resident is None


def test_resident_sign_in_never_yields_staff():
    user = resident_sign_in(phone_number=PHONE)
    assert not user.is_staff and not user.is_superuser


def test_session_key_is_rotated_at_sign_in(client, send):
    client.get(SIGNIN)
    send()
    before = client.session.session_key
    enter(client, last_sms_code(PHONE))
    assert client.session.session_key != before


def test_session_key_is_rotated_when_already_signed_in(client, send):
    user = ProfileFactory(user=ResidentFactory(phone_number=PHONE)).user
    client.force_login(user)
    before = client.session.session_key
    csrf_before = client.get(SIGNIN).cookies.get("csrftoken")
    with time_machine.travel(NOW, tick=False):
        response = sign_in(client, send)
    assert response.url == MYPAGE
    assert client.session.session_key != before
    assert client.session[SESSION_KEY] == str(user.pk)
    assert response.cookies["csrftoken"].value != (csrf_before.value if csrf_before else None)


def test_sign_out_is_post_only_and_ends_the_session(client, send):
    user = ProfileFactory(user=ResidentFactory(phone_number=PHONE)).user
    client.force_login(user)
    key = client.session.session_key
    assert client.get(reverse("accounts:signout")).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = client.post(reverse("accounts:signout"))
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SIGNIN
    assert SESSION_KEY not in client.session
    from accounts.models import AccountSession

    assert not AccountSession.objects.filter(session_key=key).exists()


# Wrong and expired codes -------------------------------------------------------------


def test_wrong_code_goes_back_to_phone_page_with_number_kept_and_30s_message(client, send):
    with time_machine.travel(NOW, tick=False):
        send()
        response = enter(client, wrong(last_sms_code(PHONE)))
        assert response.status_code == HTTPStatus.FOUND
        assert response.url == SIGNIN
        page = client.get(SIGNIN)
    html = page.content.decode()
    # NOW is 12:00 in Tokyo: the wait ends at 12:00:30.
    assert (
        "認証コードが正しくありません。12:01 以降に新しい認証コードを送信して、やり直してください（あと30秒）。" in html
    )
    assert 'value="090-1234-5678"' in html
    assert 'data-countdown="30"' in html
    assert SESSION_KEY not in client.session


def test_send_during_the_wait_shows_the_remaining_seconds(client, send):
    with time_machine.travel(NOW, tick=False) as clock:
        send()
        enter(client, wrong(last_sms_code(PHONE)))
        clock.shift(datetime.timedelta(seconds=12))
        response = send()
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Retry-After"] == "18"
    html = response.content.decode()
    assert "あと18秒" in html
    # At zero the countdown says what the resident may do now, never "0:00" (issue 16.7).
    assert 'data-countdown-done="新しい認証コードを送信できます。"' in html
    assert len(sms.outbox) == 1


def test_new_code_after_the_wait_signs_in(client, send):
    with time_machine.travel(NOW, tick=False) as clock:
        send()
        enter(client, wrong(last_sms_code(PHONE)))
        clock.shift(datetime.timedelta(seconds=30))
        response = sign_in(client, send)
    assert response.url == MYPAGE


def test_expired_code_goes_back_to_phone_page(client, send):
    with time_machine.travel(NOW, tick=False) as clock:
        send()
        plain = last_sms_code(PHONE)
        clock.shift(datetime.timedelta(minutes=5))
        response = enter(client, plain)
        assert response.url == SIGNIN
        html = client.get(SIGNIN).content.decode()
    assert "有効期限が切れています" in html
    assert SESSION_KEY not in client.session


def test_letters_are_a_wrong_code_not_an_error(client, send):
    send()
    response = enter(client, "abcdef")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == SIGNIN
    assert VerificationCode.objects.get().state == VerificationCode.State.BURNED


@pytest.mark.parametrize(
    "data",
    [
        {"code": ["123456", "654321"]},  # an array
        {"code[]": ["123456"]},
        {"code": "12\x003456"},  # NUL byte
        {"code": "1" * 10_000},  # 10 kB
        {},
    ],
    ids=["array", "brackets", "nul", "10kB", "missing"],
)
def test_junk_code_input_answers_400_never_500(client, send, data):
    send()
    response = client.post(SIGNIN_CODE, data)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    # Junk is not a try: the code is still usable.
    assert VerificationCode.objects.get().state == VerificationCode.State.PENDING


@pytest.mark.parametrize(
    "data",
    [{"phone_number": ["09012345678", "09087654321"]}, {"phone_number": "1" * 10_000}, {"phone_number": "\x00"}],
    ids=["array", "10kB", "nul"],
)
def test_junk_phone_input_answers_400_never_500(client, data):
    assert client.post(SIGNIN, data).status_code == HTTPStatus.BAD_REQUEST
    assert not VerificationCode.objects.exists()


# Enumeration -------------------------------------------------------------------------

KNOWN = "+819012340001"
UNKNOWN = "+819087650001"  # the same masked form: 090-****-0001


def normalized(response) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html


def test_known_and_unknown_numbers_get_identical_answers(client, send, settings):
    ProfileFactory(user=ResidentFactory(phone_number=KNOWN))
    LeaseFactory(phone_number=KNOWN)
    answers = []
    for phone in (KNOWN, UNKNOWN):
        client.cookies.clear()
        with time_machine.travel(NOW, tick=False):
            sent = send(phone)
            page = client.get(SIGNIN_CODE)
            failed = enter(client, wrong(last_sms_code(phone)))
            back = client.get(SIGNIN)
        answers.append(
            (
                sent.status_code,
                sent["Location"],
                page.status_code,
                normalized(page),
                failed.status_code,
                failed["Location"],
                back.status_code,
                # The phone field repeats the number typed: the one difference allowed.
                normalized(back).replace(PhoneNumber.from_string(phone).as_national, "NUMBER"),
            )
        )
    assert answers[0] == answers[1]


# Broker down -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_broker_down_answers_503_with_a_clear_message(client, monkeypatch):
    def broker_down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("accounts.tasks.verification_code_send.apply_async", broker_down)
    # A real commit (transactional test): the enqueue runs inside the request, as in production.
    response = client.post(SIGNIN, {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "認証コードを送信できませんでした" in response.content.decode()
    assert VerificationCode.objects.get().state == VerificationCode.State.CANCELLED
    assert SESSION_PENDING not in client.session


# Staff and residents -----------------------------------------------------------------


def test_resident_can_never_reach_admin(client):
    resident = ProfileFactory(user=ResidentFactory(phone_number=PHONE)).user
    client.force_login(resident)
    response = client.get("/admin/")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(reverse("admin:login"))


def test_resident_cannot_use_admin_login(client):
    ResidentFactory(phone_number=PHONE)
    response = client.post(reverse("admin:login"), {"username": PHONE, "password": ""})
    assert response.status_code == HTTPStatus.OK
    assert SESSION_KEY not in client.session


def test_staff_use_the_normal_admin_login(client):
    staff = StaffFactory()
    response = client.post(
        reverse("admin:login"), {"username": staff.username, "password": "a-long-staff-password", "next": "/admin/"}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK


# Language ----------------------------------------------------------------------------


def test_sign_in_pages_and_sms_in_english(client, send, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(SIGNIN).content.decode()
    assert "Sign in with your phone number" in page
    assert "Send code" in page
    with time_machine.travel(NOW, tick=False):
        send()
        assert "Your verification code" in sms.outbox[-1].body
        page = client.get(SIGNIN_CODE).content.decode()
        assert "We sent a 6-digit verification code by SMS to 090-****-5678." in page
        response = enter(client, wrong(last_sms_code(PHONE)))
        page = client.get(response.url).content.decode()
    assert "The code is not correct. Send a new code from 12:01 and start again (30 seconds from now)." in page
