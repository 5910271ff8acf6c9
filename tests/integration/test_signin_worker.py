"""A real worker delivers a sign-in code through Redis; the test reads the SMS file and signs in."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User, VerificationCode
from tests.accounts.verification_helpers import code_in

PHONE = "+819012345678"

# Transactional tests empty the tables; serialized rollback brings back the seeded attributes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def wait_for_sms(sms_dir, *, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(sms_dir.glob("*.txt"))
        if files:
            return files[-1].read_text(encoding="utf-8")
        time.sleep(0.2)
    pytest.fail(f"no SMS file in {sms_dir} within {timeout} s (see artifacts/celery-worker.log)")


def test_worker_delivers_the_sign_in_code_and_it_signs_in(celery_worker_process, client):
    response = client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"})
    assert response.status_code == HTTPStatus.FOUND
    # The request answered before any SMS was sent: delivery belongs to the worker.
    text = wait_for_sms(celery_worker_process.sms_dir)
    assert text.startswith(f"To: {PHONE}\n")
    assert "5分" in text

    response = client.post(reverse("accounts:signin_code"), {"code": code_in(text)})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("accounts:mypage")
    user = User.objects.get(phone_number=PHONE)
    assert client.session[SESSION_KEY] == str(user.pk)
    code = VerificationCode.objects.get(target=PHONE)
    assert code.state == VerificationCode.State.USED
    assert code.delivery == VerificationCode.Delivery.SENT


def test_worker_never_sends_an_expired_code(celery_worker_process, settings):
    from accounts.services.verification import code_seal, verification_code_issue
    from accounts.tasks import verification_code_send

    code = verification_code_issue(
        purpose=VerificationCode.Purpose.SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS
    )
    # Queued long ago: the code expired before the worker got to it.
    VerificationCode.objects.filter(pk=code.pk).update(expires_at=code.created_at)
    verification_code_send.apply_async(args=(code.pk, code_seal("123456")), argsrepr="(…)")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code.refresh_from_db()
        if code.delivery == VerificationCode.Delivery.SKIPPED:
            break
        time.sleep(0.2)
    assert code.delivery == VerificationCode.Delivery.SKIPPED
    assert "123456" not in "".join(path.read_text() for path in celery_worker_process.sms_dir.glob("*.txt"))


def test_broker_down_answers_503_and_cancels_the_code(broker_down, client):
    started = time.monotonic()
    response = client.post(reverse("accounts:signin"), {"phone_number": "090-1234-5678"})
    elapsed = time.monotonic() - started
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "認証コードを送信できませんでした" in response.content.decode()
    assert VerificationCode.objects.get(target=PHONE).state == VerificationCode.State.CANCELLED
    # Fails fast (publish retry policy), rather than hanging the request.
    assert elapsed < 10
