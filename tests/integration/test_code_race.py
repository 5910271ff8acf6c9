"""Concurrency on the real database: two connections verify the same code at the same moment."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import VerificationCode, VerificationTarget
from accounts.services.verification import (
    VerificationFailed,
    verification_code_issue,
    verification_code_verify,
)
from tests.accounts.verification_helpers import last_email_code, last_sms_code
from tests.integration.concurrency import run_together

PHONE = "+819012345678"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("attempt", range(5))
def test_two_connections_verify_the_same_code_exactly_one_wins(attempt):
    assert connection.vendor == "postgresql"
    VerificationTarget.objects.filter(target=PHONE).update(last_issued_at=None)
    code = verification_code_issue(
        purpose=VerificationCode.Purpose.SIGN_IN, target=PHONE, channel=VerificationCode.Channel.SMS
    )
    plain = last_sms_code(PHONE)

    def verify():
        return verification_code_verify(
            code_id=code.pk, purpose=VerificationCode.Purpose.SIGN_IN, target=PHONE, raw_code=plain
        )

    outcomes = run_together(verify, verify)
    winners = [outcome for outcome in outcomes if isinstance(outcome, VerificationCode)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, VerificationFailed)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1 and losers[0].reason == "used", outcomes
    code.refresh_from_db()
    assert code.state == VerificationCode.State.USED
    assert VerificationTarget.objects.get(target=PHONE).consecutive_failures == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_wrong_codes_are_all_counted():
    """Two wrong codes at once (two purposes, one target): the row lock counts both failures."""
    address = "race@example.jp"
    codes = []
    for purpose, channel in (
        (VerificationCode.Purpose.EMAIL, VerificationCode.Channel.EMAIL),
        (VerificationCode.Purpose.PHONE_CHANGE, VerificationCode.Channel.EMAIL),
    ):
        VerificationTarget.objects.filter(target=address).update(last_issued_at=None)
        code = verification_code_issue(purpose=purpose, target=address, channel=channel)
        codes.append((code, last_email_code()))

    def wrong(code, plain):
        bad = f"{(int(plain) + 1) % 1_000_000:06d}"
        return lambda: verification_code_verify(
            code_id=code.pk, purpose=code.purpose, target=address, raw_code=bad
        )

    outcomes = run_together(*(wrong(code, plain) for code, plain in codes))
    assert all(isinstance(outcome, VerificationFailed) and outcome.reason == "wrong" for outcome in outcomes)
    assert VerificationTarget.objects.get(target=address).consecutive_failures == 2
