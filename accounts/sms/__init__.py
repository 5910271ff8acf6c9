"""Sending SMS through a pluggable backend, modelled on `django.core.mail`.

`settings.SMS_BACKEND` names the backend class: console (development), locmem (tests),
filebased (the integration tier's worker) or twilio (production). Every send of the
configured backend goes through the provider's circuit breaker (`circuit`): while the
provider keeps failing, `send_sms` raises SmsUnavailable at once instead of calling it.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .backends.base import BaseSmsBackend, SmsError, SmsMessage, SmsPermanentError, SmsTransientError
from .backends.locmem import outbox
from .circuit import SmsUnavailable, guarded

__all__ = [
    "BaseSmsBackend",
    "SmsError",
    "SmsMessage",
    "SmsPermanentError",
    "SmsTransientError",
    "SmsUnavailable",
    "get_connection",
    "outbox",
    "send_sms",
]


def get_connection(backend: str | None = None, *, fail_silently: bool = False, **kwargs) -> BaseSmsBackend:
    """An instance of the configured SMS backend (or of `backend`, a dotted path)."""
    backend_class = import_string(backend or settings.SMS_BACKEND)
    return backend_class(fail_silently=fail_silently, **kwargs)


def send_sms(to: str, body: str, *, connection: BaseSmsBackend | None = None) -> int:
    """Send one SMS to `to` (E.164). Returns 1 when sent; raises SmsTransientError / SmsPermanentError,
    and SmsUnavailable (a transient error) without calling the configured provider while its circuit is open.

    A `connection` given by the caller is some other backend than the site's provider: it is
    called directly, outside the circuit.
    """
    message = SmsMessage(to=to, body=body)
    if connection is not None:
        return connection.send_messages([message])
    configured = _configured_connection()
    return guarded(lambda: configured.send_messages([message]))


# The configured backend, built once per thread and reused by every send: a provider's client
# (Twilio's) then keeps its HTTPS connection open instead of a new TLS handshake per SMS.
_local = threading.local()


def _configured_connection() -> BaseSmsBackend:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = get_connection()
    return connection


@receiver(setting_changed)
def _forget_configured_connection(*, setting: str, **kwargs) -> None:
    # Tests change SMS_BACKEND, SMS_FILE_PATH or the provider's credentials.
    if setting.startswith(("SMS_", "TWILIO_")):
        _local.__dict__.pop("connection", None)
