"""The flow objects (accounts.flows): a pending verification initiated, resumed, verified, aborted.

Pages are tested through the client elsewhere (test_signin, test_profile_edit,
test_register_wizard); here each step of `PendingVerification` and its stores is proved on
its own, with a real session saved and read back between "requests".
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils.module_loading import import_string

from accounts.app_settings import app_settings
from accounts.flows import phone_change, registration, signin
from accounts.flows.messages import wait_error
from accounts.flows.pending import (
    EMAIL,
    PHONE_CHANGE,
    SIGN_IN,
    PendingState,
    PendingVerification,
    SessionPendingStore,
)
from accounts.flows.registration import WizardPendingStore, WizardState
from accounts.flows.signin import SESSION_PENDING, SESSION_PHONE, SignInPendingStore
from accounts.models import VerificationCode, VerificationTarget
from accounts.services.verification import VerificationWait, verification_code_issue
from tests.accounts.profile_helpers import last_email_code, last_sms_code, wrong_code
from tests.factories import ProfileFactory, ResidentFactory, attribute

pytestmark = pytest.mark.django_db

PHONE = "+819012345678"
NEW_PHONE = "+819087654321"
KEY = "test.pending"
NOW = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)
SessionStore = import_string(settings.SESSION_ENGINE + ".SessionStore")


def next_request(previous=None, *, user=None):
    """A request carrying the session the previous one saved (a new session without one)."""
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.10")
    if previous is None:
        request.session = SessionStore()
    else:
        previous.session.save()
        request.session = SessionStore(session_key=previous.session.session_key)
    request.user = user or (previous.user if previous is not None else AnonymousUser())
    request._messages = FallbackStorage(request)
    return request


def phone_store(request) -> SessionPendingStore:
    return SessionPendingStore(request.session, KEY, value_name="phone")


def initiate(capture, request, *, kind=SIGN_IN, value=PHONE, user=None, store=None) -> PendingVerification:
    """Initiate with the on-commit delivery run, as a real request would."""
    with capture(execute=True):
        return PendingVerification.initiate(
            request, kind=kind, store=store or phone_store(request), value=value, user=user
        )


def refusal(excinfo) -> tuple[str, str]:
    return excinfo.value.code, " ".join(excinfo.value.messages)


# initiate / resume / verify / finish
# ------------------------------------------------------------------------------


def test_initiate_sends_a_code_and_keeps_the_value_and_code_id_in_the_session(django_capture_on_commit_callbacks):
    request = next_request()
    pending = initiate(django_capture_on_commit_callbacks, request)
    code = VerificationCode.objects.get()
    assert (code.purpose, code.channel, code.target) == (SIGN_IN.purpose, SIGN_IN.channel, PHONE)
    assert (pending.value, pending.code_id) == (PHONE, code.pk)
    assert request.session[KEY] == {"phone": PHONE, "code_id": code.pk}
    assert last_sms_code(PHONE)


def test_resume_on_the_next_request_finds_the_same_verification(django_capture_on_commit_callbacks):
    first = next_request()
    sent = initiate(django_capture_on_commit_callbacks, first)
    second = next_request(first)
    resumed = PendingVerification.resume(second, kind=SIGN_IN, store=phone_store(second))
    assert resumed is not None
    assert (resumed.value, resumed.code_id, resumed.target) == (sent.value, sent.code_id, PHONE)


def test_verify_with_the_right_code_returns_and_finish_forgets_the_state(django_capture_on_commit_callbacks):
    first = next_request()
    initiate(django_capture_on_commit_callbacks, first)
    second = next_request(first)
    pending = PendingVerification.resume(second, kind=SIGN_IN, store=phone_store(second))
    pending.verify(last_sms_code(PHONE))
    assert VerificationCode.objects.get().state == VerificationCode.State.USED
    assert KEY in second.session, "verify alone leaves the state to the flow"
    pending.finish()
    assert KEY not in second.session
    assert PendingVerification.resume(second, kind=SIGN_IN, store=phone_store(second)) is None


def test_email_value_is_kept_as_typed_and_its_target_is_lowercased(django_capture_on_commit_callbacks):
    user = ProfileFactory(user__attribute=attribute("owner")).user
    request = next_request(user=user)
    pending = initiate(
        django_capture_on_commit_callbacks,
        request,
        kind=EMAIL,
        value="Sakura@Example.JP",
        user=user,
        store=SessionPendingStore(request.session, KEY, value_name="email"),
    )
    assert request.session[KEY]["email"] == "Sakura@Example.JP"
    assert VerificationCode.objects.get().target == pending.target == "sakura@example.jp"
    pending.verify(last_email_code("sakura@example.jp"))


# Refusals: wait, lock, wrong, expired, used
# ------------------------------------------------------------------------------


def test_initiate_during_the_resend_wait_raises_wait_and_keeps_the_first_code(django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False):  # 12:00 in Tokyo
        request = next_request()
        first = initiate(django_capture_on_commit_callbacks, request)
        with pytest.raises(ValidationError) as excinfo:
            initiate(django_capture_on_commit_callbacks, request)
    assert excinfo.value.code == "wait"
    assert excinfo.value.params == {"seconds": 30}
    # Why (a code was just sent) and from when: 12:00:30, so "from 12:01" is never too early.
    assert (
        refusal(excinfo)[1]
        == "認証コードを送信したばかりのため、12:01 以降に次の認証コードを送信できます（あと30秒）。"
    )
    assert request.session[KEY] == {"phone": PHONE, "code_id": first.code_id}
    assert VerificationCode.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_wait_refusal_on_a_form_says_why_and_until_when():
    form = forms.Form(data={})
    form.is_valid()
    wait = VerificationWait(300, until=NOW + datetime.timedelta(minutes=5), failures=12)
    form.add_error(None, wait_error(wait))
    assert form.non_field_errors() == [
        "認証コードを12回続けてまちがえたため、12:05 以降に新しい認証コードを送信できます（あと5分）。"
    ]


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [(PHONE_CHANGE, NEW_PHONE, "この電話番号は"), (EMAIL, "sakura@example.jp", "このメールアドレスは")],
    ids=["phone", "email"],
)
def test_initiate_for_a_locked_target_raises_locked_naming_what_is_locked(
    django_capture_on_commit_callbacks, kind, value, words
):
    VerificationTarget.objects.create(target=value, consecutive_failures=app_settings.MAX_CONSECUTIVE_FAILURES)
    request = next_request()
    with pytest.raises(ValidationError) as excinfo:
        initiate(django_capture_on_commit_callbacks, request, kind=kind, value=value)
    code, message = refusal(excinfo)
    assert code == "locked"
    assert message.startswith("認証コードを100回続けてまちがえたため、" + words)
    assert "利用を停止しています" in message
    assert KEY not in request.session


def test_wrong_code_aborts_keeps_the_value_and_says_why_and_how_long_to_wait(django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False):
        request = next_request()
        pending = initiate(django_capture_on_commit_callbacks, request)
        with pytest.raises(ValidationError) as excinfo:
            pending.verify(wrong_code(last_sms_code(PHONE)))
    assert refusal(excinfo) == (
        "wrong",
        "認証コードが正しくありません。12:01 以降に新しい認証コードを送信して、やり直してください（あと30秒）。",
    )
    assert request.session[KEY] == {"phone": PHONE}
    assert pending.code_id is None
    assert PendingVerification.resume(request, kind=SIGN_IN, store=phone_store(request)) is None
    assert VerificationCode.objects.get().state == VerificationCode.State.BURNED


def test_expired_code_aborts_with_the_expired_message(django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False) as clock:
        request = next_request()
        pending = initiate(django_capture_on_commit_callbacks, request)
        clock.shift(app_settings.CODE_LIFETIME)
        with pytest.raises(ValidationError) as excinfo:
            pending.verify(last_sms_code(PHONE))
    code, message = refusal(excinfo)
    assert code == "expired"
    expired = "認証コードの有効期限が切れています。"
    assert message == expired + "12:06 以降に新しい認証コードを送信して、やり直してください（あと30秒）。"
    assert request.session[KEY] == {"phone": PHONE}


def test_code_already_used_is_refused_as_used(django_capture_on_commit_callbacks):
    request = next_request()
    pending = initiate(django_capture_on_commit_callbacks, request)
    plain = last_sms_code(PHONE)
    pending.verify(plain)
    with pytest.raises(ValidationError) as excinfo:
        pending.verify(plain)
    assert refusal(excinfo) == ("used", "この認証コードは使用できません。新しい認証コードを送信してください。")


def test_code_issued_for_another_purpose_does_not_verify(django_capture_on_commit_callbacks):
    """A sign-in code for the new number, put in the phone-change state: the engine binds purposes."""
    user = ProfileFactory(user__attribute=attribute("owner")).user
    with django_capture_on_commit_callbacks(execute=True):
        code = verification_code_issue(
            purpose=VerificationCode.Purpose.SIGN_IN, target=NEW_PHONE, channel=VerificationCode.Channel.SMS
        )
    request = next_request(user=user)
    request.session[phone_change.SESSION_KEY] = {"phone": NEW_PHONE, "code_id": code.pk}
    pending = phone_change.phone_change_resume(request)
    with pytest.raises(ValidationError) as excinfo:
        pending.verify(last_sms_code(NEW_PHONE))
    assert excinfo.value.code == "wrong"
    code.refresh_from_db()
    assert code.state == VerificationCode.State.BURNED
    assert request.session[phone_change.SESSION_KEY] == {"phone": NEW_PHONE}


def test_code_of_another_account_does_not_verify(django_capture_on_commit_callbacks):
    owner, other = (ProfileFactory(user__attribute=attribute("owner")).user for _ in range(2))
    request = next_request(user=owner)
    pending = initiate(django_capture_on_commit_callbacks, request, kind=PHONE_CHANGE, value=NEW_PHONE, user=owner)
    stolen = PendingVerification(
        request, kind=PHONE_CHANGE, store=phone_store(request), state=pending.state, user=other
    )
    with pytest.raises(ValidationError) as excinfo:
        stolen.verify(last_sms_code(NEW_PHONE))
    assert excinfo.value.code == "wrong"


def test_abort_gives_the_code_up_and_keeps_the_value(django_capture_on_commit_callbacks):
    request = next_request()
    pending = initiate(django_capture_on_commit_callbacks, request)
    pending.abort()
    assert request.session[KEY] == {"phone": PHONE}
    assert phone_store(request).load() == PendingState(PHONE, None)
    assert PendingVerification.resume(request, kind=SIGN_IN, store=phone_store(request)) is None
    assert VerificationCode.objects.get().state == VerificationCode.State.PENDING, "the engine is not asked"


def test_verify_after_abort_is_refused_as_used_and_leaves_the_code_alone(django_capture_on_commit_callbacks):
    """After abort there is no code id: the engine finds no code, as for one already settled."""
    request = next_request()
    pending = initiate(django_capture_on_commit_callbacks, request)
    pending.abort()
    with pytest.raises(ValidationError) as excinfo:
        pending.verify(last_sms_code(PHONE))
    assert refusal(excinfo) == ("used", "この認証コードは使用できません。新しい認証コードを送信してください。")
    assert VerificationCode.objects.get().state == VerificationCode.State.PENDING


# Missing and stale state
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "not a dict",
        {},
        {"code_id": 1},
        {"phone": "", "code_id": 1},
        {"phone": PHONE},
        {"phone": PHONE, "code_id": "1"},
        {"phone": PHONE, "code_id": True},
        {"phone": PHONE, "code_id": 0},
        {"phone": 819012345678, "code_id": 1},
    ],
    ids=[
        "missing",
        "not-a-dict",
        "empty",
        "no-value",
        "empty-value",
        "no-code",
        "str-id",
        "bool-id",
        "zero-id",
        "int-value",
    ],
)
def test_resume_of_a_missing_or_stale_state_is_none(stored):
    request = next_request()
    if stored is not None:
        request.session[KEY] = stored
    assert PendingVerification.resume(request, kind=SIGN_IN, store=phone_store(request)) is None


def test_pending_of_a_code_superseded_since_is_refused_as_used(django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False) as clock:
        first = next_request()
        stale = initiate(django_capture_on_commit_callbacks, first)
        clock.shift(datetime.timedelta(seconds=31))
        # Another tab of the same session sent a new code: the first one is superseded.
        initiate(django_capture_on_commit_callbacks, next_request(first))
        with pytest.raises(ValidationError) as excinfo:
            stale.verify(last_sms_code(PHONE))
    assert excinfo.value.code == "used"


# The stores: sign-in's two keys, the wizard's state
# ------------------------------------------------------------------------------


def test_sign_in_store_keeps_the_number_apart_from_the_pending_code(django_capture_on_commit_callbacks):
    request = next_request()
    with django_capture_on_commit_callbacks(execute=True):
        pending = signin.signin_start(request, phone=PHONE)
    assert request.session[SESSION_PENDING] == {"code_id": pending.code_id, "phone": PHONE}
    assert request.session[SESSION_PHONE] == PHONE
    # No "sent" message: the code page says whether the SMS went out (it may not have yet).
    assert list(get_messages(request)) == []
    pending.abort()
    assert SESSION_PENDING not in request.session
    assert signin.signin_phone(request) == PHONE
    assert signin.signin_resume(request) is None
    SignInPendingStore(request.session).clear()
    assert signin.signin_phone(request) is None


def test_sign_in_start_during_the_wait_is_refused_before_any_rate_limit(
    django_capture_on_commit_callbacks, monkeypatch
):
    request = next_request()
    with django_capture_on_commit_callbacks(execute=True):
        signin.signin_start(request, phone=PHONE)

    def rate_limit_consumed(*args, **kwargs):
        raise AssertionError("the wait must be checked before the rate limits")

    monkeypatch.setattr("accounts.flows.pending.check_code_send", rate_limit_consumed)
    with pytest.raises(ValidationError) as excinfo:
        signin.signin_start(next_request(request), phone=PHONE)
    assert excinfo.value.code == "wait"


def test_sign_in_complete_signs_in_and_forgets_the_flow(django_capture_on_commit_callbacks):
    first = next_request()
    with django_capture_on_commit_callbacks(execute=True):
        signin.signin_start(first, phone=PHONE)
    second = next_request(first)
    user = signin.signin_complete(second, signin.signin_resume(second), raw_code=last_sms_code(PHONE))
    assert user.phone_number == PHONE
    assert second.user == user
    assert SESSION_PENDING not in second.session
    assert SESSION_PHONE not in second.session


def test_wizard_store_keeps_the_draft_and_code_in_the_wizard_and_bumps_its_revision(
    django_capture_on_commit_callbacks,
):
    request = next_request(user=ResidentFactory(attribute=attribute("owner")))
    state = WizardState(request)
    rev = state.rev
    with django_capture_on_commit_callbacks(execute=True):
        pending = registration.registration_email_start(request, state, email="Sakura@example.jp")
    assert request.session[registration.SESSION_KEY]["email_draft"] == "Sakura@example.jp"
    assert request.session[registration.SESSION_KEY]["code_id"] == pending.code_id
    assert state.rev > rev
    pending.abort()
    assert WizardPendingStore(state).load() == PendingState("Sakura@example.jp", None)
    assert registration.registration_email_resume(request, state) is None


def test_wizard_state_of_another_account_resumes_nothing(django_capture_on_commit_callbacks):
    first = next_request(user=ResidentFactory(attribute=attribute("owner")))
    with django_capture_on_commit_callbacks(execute=True):
        registration.registration_email_start(first, WizardState(first), email="sakura@example.jp")
    other = next_request(first, user=ResidentFactory(attribute=attribute("owner")))
    assert registration.registration_email_resume(other, WizardState(other)) is None


def test_registration_confirm_of_an_address_in_use_keeps_the_wizard_unchanged(django_capture_on_commit_callbacks):
    ProfileFactory(email="taken@example.jp")
    request = next_request(user=ResidentFactory(attribute=attribute("owner")))
    state = WizardState(request)
    with django_capture_on_commit_callbacks(execute=True):
        pending = registration.registration_email_start(request, state, email="TAKEN@example.jp")
    with pytest.raises(ValidationError) as excinfo:
        registration.registration_email_confirm(request, state, pending, raw_code=last_email_code("taken@example.jp"))
    assert excinfo.value.code == "unavailable"
    assert not state.get("email_done")
