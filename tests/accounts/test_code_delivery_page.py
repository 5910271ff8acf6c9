"""The sign-in code page tells where the code's SMS stands: being sent, sent, late (after
DELIVERY_SLOW_AFTER), failed; what the resident can do then; the same on a reload without
JavaScript as through the status endpoint site.js asks."""

from __future__ import annotations

import datetime
import re
from http import HTTPStatus

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts import sms
from accounts.models import VerificationCode
from accounts.sms import SmsPermanentError, circuit
from accounts.sms.backends import locmem

pytestmark = pytest.mark.django_db

SIGNIN = reverse("accounts:signin")
SIGNIN_CODE = reverse("accounts:signin_code")
STATUS = reverse("accounts:signin_code_status")
PHONE = "+819012345678"
NOW = datetime.datetime(2026, 12, 1, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _reset_providers():
    locmem.reset()
    circuit.reset()
    yield
    locmem.reset()
    circuit.reset()


def ask_for_a_code(client, capture=None, *, deliver: bool) -> VerificationCode:
    """POST the phone page; the delivery task runs (eagerly) only when `deliver`."""
    if deliver:
        with capture(execute=True):
            assert client.post(SIGNIN, {"phone_number": "090-1234-5678"}).status_code == HTTPStatus.FOUND
    else:  # the worker has not taken it yet: the on-commit enqueue never runs
        assert client.post(SIGNIN, {"phone_number": "090-1234-5678"}).status_code == HTTPStatus.FOUND
    return VerificationCode.objects.get(target=PHONE)


def page(client) -> str:
    """The code page as a reader without JavaScript sees it (no <template> content)."""
    response = client.get(SIGNIN_CODE)
    assert response.status_code == HTTPStatus.OK
    return re.sub(r"<template.*?</template>", "", response.content.decode(), flags=re.DOTALL)


def test_sent_code_page_says_sent_with_the_number_as_typed_and_masked(client, django_capture_on_commit_callbacks):
    ask_for_a_code(client, django_capture_on_commit_callbacks, deliver=True)
    html = page(client)
    assert "090-****-5678 に SMS で6桁の認証コードを送信しました" in html
    assert "data-delivery-status" not in html  # nothing left to ask
    assert 'name="code"' in html


def test_code_not_yet_sent_says_it_is_being_sent_and_asks_the_status_endpoint(client):
    with time_machine.travel(NOW, tick=False):
        ask_for_a_code(client, deliver=False)
        html = page(client)
    assert "090-****-5678 に SMS で6桁の認証コードを送信しています" in html
    assert "送信しました" not in html
    assert f'data-delivery-status="{STATUS}"' in html
    assert 'name="code"' in html
    # What site.js shows in place once the endpoint says it was sent.
    template = client.get(SIGNIN_CODE).content.decode().split('<template data-delivery-template="sent">')[1]
    assert template.startswith('<p role="status">090-****-5678 に SMS で6桁の認証コードを送信しました。')


def test_code_still_not_sent_after_20_seconds_says_it_is_late_and_what_to_do(client):
    with time_machine.travel(NOW, tick=False) as traveller:
        ask_for_a_code(client, deliver=False)
        traveller.shift(21)
        html = page(client)
    assert "090-****-5678 への SMS の送信に時間がかかっています" in html
    # The resend wait (30 s from the send) is what is left to wait: 9 s.
    assert 'data-countdown="9"' in html and "で新しい認証コードを送信できます" in html
    assert "電話番号が正しいか確認してください" in html
    assert "support@space-core.net" in html
    assert 'name="code"' in html  # it may still arrive


def test_failed_code_says_it_failed_offers_what_to_do_and_no_code_field(client, django_capture_on_commit_callbacks):
    locmem.fail_next(1, error=SmsPermanentError)
    with time_machine.travel(NOW, tick=False):
        code = ask_for_a_code(client, django_capture_on_commit_callbacks, deliver=True)
        html = page(client)
    assert VerificationCode.objects.get(pk=code.pk).delivery == VerificationCode.Delivery.FAILED
    assert "090-****-5678 に SMS を送信できませんでした" in html
    assert "この認証コードは届きません" in html
    assert "送信しました" not in html and "送信しています" not in html
    assert 'data-countdown="30"' in html and 'data-countdown-done="今すぐ新しい認証コードを送信できます。"' in html
    assert "電話番号が正しいか確認してください" in html and "support@space-core.net" in html
    assert f'href="{SIGNIN}"' in html
    assert 'name="code"' not in html
    assert 'role="alert"' in html


def test_failed_code_after_the_wait_says_a_new_code_may_be_asked_now(client, django_capture_on_commit_callbacks):
    locmem.fail_next(1, error=SmsPermanentError)
    with time_machine.travel(NOW, tick=False) as traveller:
        ask_for_a_code(client, django_capture_on_commit_callbacks, deliver=True)
        traveller.shift(31)
        html = page(client)
    assert "今すぐ新しい認証コードを送信できます。" in html
    assert "data-countdown=" not in html.split("この認証コードは届きません")[1].split("</ul>")[0]


def test_with_the_provider_circuit_open_the_wait_is_the_circuits(client, settings, django_capture_on_commit_callbacks):
    settings.SMS_CIRCUIT_FAILURES, settings.SMS_CIRCUIT_OPEN_SECONDS = 1, 90
    locmem.fail_next(1)
    with pytest.raises(sms.SmsTransientError):
        sms.send_sms("+819099999999", "x")
    ask_for_a_code(client, django_capture_on_commit_callbacks, deliver=True)
    html = page(client)
    assert "SMS を送信できませんでした" in html
    assert 'data-countdown="90"' in html or 'data-countdown="89"' in html
    assert sms.outbox == []


def test_status_endpoint_answers_the_sessions_own_code_without_personal_data(client):
    with time_machine.travel(NOW, tick=False):
        code = ask_for_a_code(client, deliver=False)
        response = client.get(STATUS)
        assert response.json() == {"delivery": "sending", "seconds_left": 300, "retry_after": 0}
        VerificationCode.objects.filter(pk=code.pk).update(delivery=VerificationCode.Delivery.SENT)
        response = client.get(STATUS)
    assert response.json() == {"delivery": "sent", "seconds_left": 300, "retry_after": 0}
    assert "no-store" in response["Cache-Control"]
    assert b"5678" not in response.content


def test_status_endpoint_without_a_pending_code_in_the_session_answers_404(client):
    ask_for_a_code(client, deliver=False)
    stranger = Client()
    assert stranger.get(STATUS).status_code == HTTPStatus.NOT_FOUND
    assert stranger.get(STATUS).json() == {"delivery": None}


def test_status_endpoint_tells_the_same_as_the_page_for_a_failed_code(client, django_capture_on_commit_callbacks):
    locmem.fail_next(1, error=SmsPermanentError)
    with time_machine.travel(NOW, tick=False):
        ask_for_a_code(client, django_capture_on_commit_callbacks, deliver=True)
        assert client.get(STATUS).json() == {"delivery": "failed", "seconds_left": 300, "retry_after": 30}


def test_status_endpoint_is_rate_limited_per_session(client, settings):
    settings.ACCOUNTS_RATE_LIMITS = {"code_status": "3/h"}
    ask_for_a_code(client, deliver=False)
    assert [client.get(STATUS).status_code for _ in range(4)] == [200, 200, 200, HTTPStatus.TOO_MANY_REQUESTS]


def test_status_endpoint_takes_only_get(client):
    ask_for_a_code(client, deliver=False)
    assert client.post(STATUS).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_code_page_reads_its_code_in_one_query_when_the_sms_was_sent(
    client, django_capture_on_commit_callbacks, django_assert_num_queries
):
    ask_for_a_code(client, django_capture_on_commit_callbacks, deliver=True)
    client.get(SIGNIN_CODE)
    with django_assert_num_queries(2):  # the session, the code
        client.get(SIGNIN_CODE)


# The phone-change code page (SMS to the new number): the same states, rendered by the server
# ------------------------------------------------------------------------------


def test_phone_change_code_page_says_the_sms_to_the_new_number_failed(django_capture_on_commit_callbacks):
    from tests.accounts.profile_helpers import signed_in
    from tests.factories import ProfileFactory

    client = signed_in(ProfileFactory().user)
    locmem.fail_next(1, error=SmsPermanentError)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:profile_phone"), {"phone_number": "090-8765-4321"})
    assert response.status_code == HTTPStatus.FOUND
    html = client.get(reverse("accounts:profile_phone_verify")).content.decode()
    assert "090-****-4321 に SMS を送信できませんでした" in html
    assert f'href="{reverse("accounts:profile_phone")}"' in html
    assert 'name="code"' not in html
    assert "data-delivery-status" not in html  # no status endpoint here: a reload tells


def test_phone_change_code_page_says_sent_and_keeps_its_code_field(django_capture_on_commit_callbacks):
    from tests.accounts.profile_helpers import signed_in
    from tests.factories import ProfileFactory

    client = signed_in(ProfileFactory().user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:profile_phone"), {"phone_number": "090-8765-4321"})
    html = client.get(reverse("accounts:profile_phone_verify")).content.decode()
    assert "090-****-4321 に SMS で6桁の認証コードを送信しました" in html
    assert 'name="code"' in html
