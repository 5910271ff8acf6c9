"""SMS backends: console, in-memory, file-based and Twilio (with a stand-in client)."""

from __future__ import annotations

import io

import pytest
import time_machine
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


def test_twilio_api_base_url_replaces_twilios_own_endpoint(twilio_settings, settings):
    assert twilio.SmsBackend().client.api.base_url == "https://api.twilio.com"
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    assert twilio.SmsBackend().client.api.base_url == "http://127.0.0.1:9"


def test_twilio_without_credentials_refuses_to_start(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        send_sms("+819012345678", "x", connection=twilio.SmsBackend())


def test_twilio_client_is_built_lazily_from_settings(twilio_settings):
    backend = twilio.SmsBackend()
    from twilio.rest import Client

    assert isinstance(backend.client, Client)


# The provider's circuit breaker (accounts.sms.circuit): a fake provider that fails
# ------------------------------------------------------------------------------


class FakeProvider:
    """The configured backend (SMS_BACKEND points here): counts calls, fails while told to."""

    calls = 0
    error: Exception | None = None

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        FakeProvider.calls += 1
        if FakeProvider.error is not None:
            raise FakeProvider.error
        return len(messages)


@pytest.fixture
def provider(settings):
    from accounts.sms import circuit

    FakeProvider.calls, FakeProvider.error = 0, SmsTransientError("fake provider answered 500")
    settings.SMS_BACKEND = "tests.accounts.test_sms.FakeProvider"
    settings.SMS_CIRCUIT_FAILURES, settings.SMS_CIRCUIT_WINDOW, settings.SMS_CIRCUIT_OPEN_SECONDS = 3, 60, 60
    circuit.reset()
    yield FakeProvider
    circuit.reset()


def fail_times(n: int) -> None:
    for _ in range(n):
        with pytest.raises(SmsTransientError):
            send_sms("+819012345678", "x")


def test_provider_failing_n_times_opens_the_circuit_and_later_sends_fail_fast_without_calling_it(provider):
    from accounts.sms import circuit

    fail_times(3)
    assert provider.calls == 3
    with pytest.raises(sms.SmsUnavailable) as excinfo:
        send_sms("+819012345678", "x")
    assert provider.calls == 3  # not called
    assert 55 <= excinfo.value.retry_after <= 60
    assert 55 <= circuit.retry_after() <= 60
    # A transient error, so whoever retries transient errors also handles this one.
    assert isinstance(excinfo.value, SmsTransientError)


def test_a_success_clears_the_failure_count(provider):
    fail_times(2)
    provider.error = None
    send_sms("+819012345678", "x")
    provider.error = SmsTransientError("500")
    fail_times(2)
    assert provider.calls == 5  # never opened: the failures were not in a row


def test_a_send_through_a_healthy_circuit_reads_its_state_once_and_writes_nothing(provider, monkeypatch):
    from accounts.sms import circuit

    provider.error = None
    calls: list[str] = []
    real = circuit._cache_call
    monkeypatch.setattr(circuit, "_cache_call", lambda method, *a, **k: calls.append(method) or real(method, *a, **k))
    send_sms("+819012345678", "x")
    assert calls == ["get_many"]


def test_failures_outside_the_window_do_not_add_up(provider):
    with time_machine.travel("2026-12-01 09:00 +0900", tick=False) as traveller:
        fail_times(2)
        traveller.shift(61)
        fail_times(2)
    assert provider.calls == 4


def test_a_refused_message_says_the_provider_is_up_and_is_not_counted(provider):
    provider.error = SmsPermanentError("invalid number")
    for _ in range(5):
        with pytest.raises(SmsPermanentError):
            send_sms("+819012345678", "x")
    assert provider.calls == 5


def test_after_the_open_time_one_trial_goes_through_and_its_success_closes_the_circuit(provider):
    from accounts.sms import circuit

    with time_machine.travel("2026-12-01 09:00 +0900", tick=False) as traveller:
        fail_times(3)
        traveller.shift(61)
        provider.error = None
        assert send_sms("+819012345678", "trial") == 1
        assert circuit.retry_after() == 0
        send_sms("+819012345678", "next")
    assert provider.calls == 5


def test_a_failed_trial_opens_the_circuit_again_for_the_whole_open_time(provider):
    from accounts.sms import circuit

    with time_machine.travel("2026-12-01 09:00 +0900", tick=False) as traveller:
        fail_times(3)
        traveller.shift(61)
        fail_times(1)  # the trial
        assert provider.calls == 4
        assert circuit.retry_after() == 60
        with pytest.raises(sms.SmsUnavailable):
            send_sms("+819012345678", "x")
    assert provider.calls == 4


def test_while_a_trial_is_under_way_other_workers_fail_fast(provider):
    from accounts.sms import circuit

    with time_machine.travel("2026-12-01 09:00 +0900", tick=False) as traveller:
        fail_times(3)
        traveller.shift(61)
        observed = []

        def hanging_trial(messages):
            # Another worker asks while this trial is still waiting for the provider.
            with pytest.raises(sms.SmsUnavailable):
                circuit.guarded(lambda: observed.append("second call"))
            return 1

        assert circuit.guarded(lambda: hanging_trial([])) == 1
    assert observed == []


def test_an_unreachable_state_store_reads_as_closed(provider, monkeypatch, caplog):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    provider.error = None
    for method in ("get", "get_many", "add", "incr", "delete", "set", "delete_many"):
        monkeypatch.setattr(cache, method, down)
    assert send_sms("+819012345678", "x") == 1
    assert "SMS circuit state unavailable" in caplog.text


def test_a_backend_passed_by_the_caller_is_not_behind_the_circuit(provider):
    fail_times(3)
    stream = io.StringIO()
    send_sms("+819012345678", "x", connection=console.SmsBackend(stream=stream))
    assert "+819012345678" in stream.getvalue()


@pytest.mark.parametrize(
    ("name", "value"), [("SMS_CIRCUIT_FAILURES", 0), ("SMS_CIRCUIT_WINDOW", -1), ("SMS_CIRCUIT_OPEN_SECONDS", "60")]
)
def test_circuit_settings_that_cannot_work_are_refused_at_start_up(settings, name, value):
    from accounts.checks import sms_circuit_settings_check

    setattr(settings, name, value)
    assert [error.id for error in sms_circuit_settings_check()] == ["accounts.E020"]


def test_a_late_notice_after_the_code_expired_is_refused_at_start_up(settings):
    import datetime

    from accounts.checks import sms_circuit_settings_check

    settings.ACCOUNTS_DELIVERY_SLOW_AFTER = datetime.timedelta(minutes=5)
    assert [error.id for error in sms_circuit_settings_check()] == ["accounts.E021"]
    settings.ACCOUNTS_DELIVERY_SLOW_AFTER = datetime.timedelta(seconds=20)
    assert sms_circuit_settings_check() == []
