"""SMS backends: console, in-memory, file-based and Twilio (with a stand-in client)."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from twilio.base.exceptions import TwilioRestException

from accounts import sms
from accounts.sms import SmsPermanentError, SmsTransientError, get_connection, send_sms
from accounts.sms.backends import console, filebased, locmem, twilio


def test_default_test_backend_is_locmem_and_fills_the_outbox():
    assert isinstance(get_connection(), locmem.SmsBackend)
    assert send_sms("+819012345678", "本文") == 1
    assert sms.outbox == [sms.SmsMessage(to="+819012345678", body="本文")]


def test_locmem_backend_can_fail_the_next_sends():
    locmem.fail_next(2)
    for _ in range(2):
        with pytest.raises(SmsTransientError):
            send_sms("+819012345678", "x")
    send_sms("+819012345678", "x")
    assert len(sms.outbox) == 1
    locmem.reset()


def test_console_backend_prints_the_message():
    stream = io.StringIO()
    connection = get_connection("accounts.sms.backends.console.SmsBackend", stream=stream)
    assert isinstance(connection, console.SmsBackend)
    send_sms("+819012345678", "認証コード：123456", connection=connection)
    assert "+819012345678" in stream.getvalue()
    assert "認証コード：123456" in stream.getvalue()


def test_filebased_backend_writes_one_file_per_message(tmp_path, settings):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    connection = get_connection("accounts.sms.backends.filebased.SmsBackend")
    send_sms("+819012345678", "one", connection=connection)
    send_sms("+819087654321", "two", connection=connection)
    files = sorted((tmp_path / "sms").glob("*.txt"))
    assert len(files) == 2
    texts = {path.read_text(encoding="utf-8") for path in files}
    assert texts == {"To: +819012345678\n\none\n", "To: +819087654321\n\ntwo\n"}


def test_filebased_backend_needs_a_path(settings):
    settings.SMS_FILE_PATH = ""
    with pytest.raises(ImproperlyConfigured):
        filebased.SmsBackend()


class FakeMessages:
    def __init__(self, error=None):
        self.error = error
        self.sent = []

    def create(self, **kwargs):
        if self.error:
            raise self.error
        self.sent.append(kwargs)


class FakeClient:
    def __init__(self, error=None):
        self.messages = FakeMessages(error)


@pytest.fixture
def twilio_settings(settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"


def test_twilio_backend_sends_through_the_client(twilio_settings):
    client = FakeClient()
    send_sms("+819012345678", "本文", connection=twilio.SmsBackend(client=client))
    assert client.messages.sent == [{"to": "+819012345678", "from_": "+15005550006", "body": "本文"}]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_busy_or_down_is_transient(twilio_settings, status):
    error = TwilioRestException(status, "https://api.twilio.com/x", msg="busy")
    with pytest.raises(SmsTransientError):
        send_sms("+819012345678", "x", connection=twilio.SmsBackend(client=FakeClient(error)))


def test_twilio_refusal_is_permanent(twilio_settings):
    error = TwilioRestException(400, "https://api.twilio.com/x", msg="invalid number", code=21211)
    with pytest.raises(SmsPermanentError):
        send_sms("+819012345678", "x", connection=twilio.SmsBackend(client=FakeClient(error)))


def test_twilio_connection_error_is_transient(twilio_settings):
    with pytest.raises(SmsTransientError):
        send_sms("+819012345678", "x", connection=twilio.SmsBackend(client=FakeClient(ConnectionError("down"))))


def test_twilio_calls_give_up_after_the_sms_timeout(twilio_settings, settings):
    settings.SMS_TIMEOUT = 7
    assert twilio.SmsBackend().client.http_client.timeout == 7


def test_twilio_timeout_is_transient(twilio_settings):
    import requests

    with pytest.raises(SmsTransientError):
        send_sms("+819012345678", "x", connection=twilio.SmsBackend(client=FakeClient(requests.Timeout("slow"))))


def test_twilio_without_credentials_refuses_to_start(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        send_sms("+819012345678", "x", connection=twilio.SmsBackend())


def test_twilio_client_is_built_lazily_from_settings(twilio_settings):
    backend = twilio.SmsBackend()
    from twilio.rest import Client

    assert isinstance(backend.client, Client)
