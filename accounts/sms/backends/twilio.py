"""Production: Twilio's Programmable Messaging through the official SDK (imported lazily).

Credentials come from settings TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER;
each call gives up after SMS_TIMEOUT seconds (the SDK waits for ever by default).
TWILIO_API_BASE_URL, when set, replaces `https://api.twilio.com` (a regional endpoint, or
the fault drills' stand-in provider on 127.0.0.1).
Provider answers are sorted into transient (retry) and permanent (give up) errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import BaseSmsBackend, SmsMessage, SmsPermanentError, SmsTransientError


class SmsBackend(BaseSmsBackend):
    def __init__(self, *, client=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.from_number = settings.TWILIO_FROM_NUMBER
        self._client = client

    @property
    def client(self):
        if self._client is None:
            if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and self.from_number):
                raise ImproperlyConfigured("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are required.")
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            client = Client(
                settings.TWILIO_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN,
                http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT),
            )
            base_url = getattr(settings, "TWILIO_API_BASE_URL", "")
            if base_url:
                client.api.base_url = base_url
            self._client = client
        return self._client

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        sent = 0
        for message in messages:
            try:
                self.client.messages.create(to=message.to, from_=self.from_number, body=message.body)
            except TwilioRestException as exc:
                if exc.status == 429 or exc.status >= 500:
                    raise SmsTransientError(f"twilio answered {exc.status}") from exc
                if self.fail_silently:
                    continue
                raise SmsPermanentError(f"twilio refused the message ({exc.status}, code {exc.code})") from exc
            except (TwilioException, OSError) as exc:
                # Connection errors and timeouts (requests' errors are OSErrors).
                raise SmsTransientError(f"twilio unreachable: {type(exc).__name__}") from exc
            sent += 1
        return sent
