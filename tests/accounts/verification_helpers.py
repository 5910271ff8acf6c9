"""Helpers of the accounts core tests: issue a code and read it back from what was sent."""

from __future__ import annotations

import re

from django.core import mail

from accounts import sms
from accounts.models import VerificationCode
from accounts.services.verification import verification_code_issue

CODE_RE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


def code_in(text: str) -> str:
    match = CODE_RE.search(text)
    assert match, f"no 6-digit code in {text!r}"
    return match.group(1)


def last_sms_code(to: str | None = None) -> str:
    messages = [message for message in sms.outbox if to is None or message.to == to]
    assert messages, "no SMS was sent"
    return code_in(messages[-1].body)


def last_email_code() -> str:
    assert mail.outbox, "no e-mail was sent"
    return code_in(mail.outbox[-1].body)


def issue_and_read(
    capture,
    *,
    purpose=VerificationCode.Purpose.SIGN_IN,
    target="+819012345678",
    channel=VerificationCode.Channel.SMS,
    user=None,
    language="ja",
) -> tuple[VerificationCode, str]:
    """Issue a code, run its on-commit delivery (eager Celery) and return (row, plain code)."""
    with capture(execute=True):
        code = verification_code_issue(purpose=purpose, target=target, channel=channel, user=user, language=language)
    plain = last_email_code() if channel == VerificationCode.Channel.EMAIL else last_sms_code(target)
    return code, plain
