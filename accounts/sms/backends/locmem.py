"""Tests: keep each SMS in `accounts.sms.outbox`; can be told to fail the next N sends."""

from __future__ import annotations

from collections.abc import Sequence

from .base import BaseSmsBackend, SmsMessage, SmsTransientError

# Shared by every instance, like django.core.mail.outbox; tests clear it.
outbox: list[SmsMessage] = []
_failures: list[Exception] = []


def fail_next(times: int, error: type[Exception] = SmsTransientError) -> None:
    """Make the next `times` sends raise `error` (a provider outage, for retry tests)."""
    _failures[:] = [error("locmem: simulated provider failure") for _ in range(times)]


def reset() -> None:
    outbox.clear()
    _failures.clear()


class SmsBackend(BaseSmsBackend):
    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        if _failures:
            raise _failures.pop(0)
        outbox.extend(messages)
        return len(messages)
