"""The SMS backend interface and the errors every backend raises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, e.g. +819012345678
    body: str


class SmsError(Exception):
    """Sending failed."""


class SmsTransientError(SmsError):
    """The provider may accept the message later (timeout, 429, 5xx): retry with backoff."""


class SmsPermanentError(SmsError):
    """The provider refused the message (bad number, blocked): retrying will not help."""


class BaseSmsBackend:
    def __init__(self, *, fail_silently: bool = False, **kwargs) -> None:
        self.fail_silently = fail_silently

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        """Send the messages; return how many were sent."""
        raise NotImplementedError
