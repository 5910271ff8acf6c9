"""Sending SMS through a pluggable backend, modelled on `django.core.mail`.

`settings.SMS_BACKEND` names the backend class: console (development), locmem (tests),
filebased (the integration tier's worker) or twilio (production).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .backends.base import BaseSmsBackend, SmsError, SmsMessage, SmsPermanentError, SmsTransientError
from .backends.locmem import outbox

__all__ = [
    "BaseSmsBackend",
    "SmsError",
    "SmsMessage",
    "SmsPermanentError",
    "SmsTransientError",
    "get_connection",
    "outbox",
    "send_sms",
]


def get_connection(backend: str | None = None, *, fail_silently: bool = False, **kwargs) -> BaseSmsBackend:
    """An instance of the configured SMS backend (or of `backend`, a dotted path)."""
    backend_class = import_string(backend or settings.SMS_BACKEND)
    return backend_class(fail_silently=fail_silently, **kwargs)


def send_sms(to: str, body: str, *, connection: BaseSmsBackend | None = None) -> int:
    """Send one SMS to `to` (E.164). Returns 1 when sent; raises SmsTransientError / SmsPermanentError."""
    connection = connection or get_connection()
    return connection.send_messages([SmsMessage(to=to, body=body)])
