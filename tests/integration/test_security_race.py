"""Two concurrent correct POSTs of one code, over HTTP on PostgreSQL: exactly one signs in.

Two threads, two test Clients presenting the same session (a double submit, or two tabs),
each request on its own database connection, released together by a barrier.
"""

from __future__ import annotations

import functools
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import User, VerificationCode, VerificationTarget
from tests.accounts.verification_helpers import last_sms_code
from tests.integration.concurrency import run_together

PHONE = "+819012345678"
SIGNIN = reverse("accounts:signin")
SIGNIN_CODE = reverse("accounts:signin_code")
MYPAGE = reverse("accounts:mypage")


def post_together(clients: list[Client], url: str, data: dict) -> list[object]:
    return run_together(*(functools.partial(client.post, url, data) for client in clients))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("attempt", range(5))
def test_two_concurrent_correct_code_posts_exactly_one_signs_in(attempt, django_capture_on_commit_callbacks):
    assert connection.vendor == "postgresql"
    VerificationTarget.objects.filter(target=PHONE).update(last_issued_at=None)
    first = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert first.post(SIGNIN, {"phone_number": "090-1234-5678"}).status_code == HTTPStatus.FOUND
    second = Client()
    second.cookies[settings.SESSION_COOKIE_NAME] = first.cookies[settings.SESSION_COOKIE_NAME].value

    outcomes = post_together([first, second], SIGNIN_CODE, {"code": last_sms_code(PHONE)})

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    answers = [(outcome.status_code, outcome.get("Location")) for outcome in outcomes]
    won = [client for client, answer in zip([first, second], answers, strict=True) if answer == (302, MYPAGE)]
    assert len(won) == 1, answers
    (lost,) = [answer for answer in answers if answer != (302, MYPAGE)]
    # The loser goes back to the phone page ("used"), or, when the winner has already replaced the
    # shared session's key, gets Django's 400 for a session deleted mid-request. Never a 500.
    assert lost in {(HTTPStatus.FOUND, SIGNIN), (HTTPStatus.BAD_REQUEST, None)}, answers
    assert SESSION_KEY in won[0].session
    code = VerificationCode.objects.get(target=PHONE, state=VerificationCode.State.USED)
    assert code.used_at is not None
    assert not VerificationCode.objects.filter(target=PHONE, state=VerificationCode.State.PENDING).exists()
    assert VerificationTarget.objects.get(target=PHONE).consecutive_failures == 0
    assert User.objects.filter(phone_number=PHONE).count() == 1
