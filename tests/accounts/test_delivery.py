"""Delivery of codes by the Celery task: SMS and e-mail, retries, expiry, idempotence, logs."""

from __future__ import annotations

import datetime
import logging
import smtplib

import pytest
import time_machine
from django.core import mail

from accounts import sms
from accounts.models import VerificationCode
from accounts.services.verification import code_seal, verification_code_issue
from accounts.sms import SmsPermanentError
from accounts.sms.backends import locmem
from accounts.tasks import verification_code_send
from tests.accounts.verification_helpers import code_in, issue_and_read

pytestmark = pytest.mark.django_db

PHONE = "+819012345678"
ADDRESS = "taro@example.jp"


@pytest.fixture(autouse=True)
def _reset_locmem():
    locmem.reset()
    yield
    locmem.reset()


def issue_quietly(**kwargs) -> VerificationCode:
    """Issue without running the on-commit delivery (the test calls the task itself)."""
    arguments = {"purpose": VerificationCode.Purpose.SIGN_IN, "target": PHONE, "channel": VerificationCode.Channel.SMS}
    return verification_code_issue(**{**arguments, **kwargs})


def test_sms_carries_the_code_and_its_validity_in_japanese(django_capture_on_commit_callbacks):
    code, plain = issue_and_read(django_capture_on_commit_callbacks)
    (message,) = sms.outbox
    assert message.to == PHONE
    assert plain in message.body
    assert "5分" in message.body
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.SENT
    assert code.delivered_at is not None
    assert code.delivery_attempts == 1


def test_email_subject_sender_text_and_html(django_capture_on_commit_callbacks):
    _code, plain = issue_and_read(
        django_capture_on_commit_callbacks,
        purpose=VerificationCode.Purpose.EMAIL,
        target=ADDRESS,
        channel=VerificationCode.Channel.EMAIL,
    )
    (message,) = mail.outbox
    assert message.subject == "SpaceCore 認証コードのご案内"
    assert message.from_email == "noreply@my.space-core.net"
    assert message.to == [ADDRESS]
    assert plain in message.body and "5分" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert plain in html and "5分" in html
    assert '<html lang="ja">' in html


def test_email_in_english_when_the_code_is_english(django_capture_on_commit_callbacks):
    _code, plain = issue_and_read(
        django_capture_on_commit_callbacks,
        purpose=VerificationCode.Purpose.EMAIL,
        target=ADDRESS,
        channel=VerificationCode.Channel.EMAIL,
        language="en",
    )
    (message,) = mail.outbox
    assert message.subject == "Your SpaceCore verification code"
    assert plain in message.body and "5 minutes" in message.body
    assert '<html lang="en">' in message.alternatives[0][0]


def test_sms_in_english_when_the_code_is_english(django_capture_on_commit_callbacks):
    _code, plain = issue_and_read(django_capture_on_commit_callbacks, language="en")
    assert "verification code" in sms.outbox[0].body and plain in sms.outbox[0].body


def test_transient_provider_error_is_retried_then_sent(django_capture_on_commit_callbacks):
    locmem.fail_next(2)
    code, _plain = issue_and_read(django_capture_on_commit_callbacks)
    assert len(sms.outbox) == 1
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.SENT
    assert code.delivery_attempts == 3


def test_retries_run_out_then_delivery_failed(settings, django_capture_on_commit_callbacks):
    settings.ACCOUNTS_DELIVERY_MAX_RETRIES = 2
    locmem.fail_next(5)
    with django_capture_on_commit_callbacks(execute=True):
        code = issue_quietly()
    assert sms.outbox == []
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.FAILED
    assert code.delivery_attempts == 3  # the first try and two retries
    # The code itself stays pending; the user may ask for a new one after the resend wait.
    assert code.state == VerificationCode.State.PENDING


def test_permanent_provider_error_is_not_retried(django_capture_on_commit_callbacks):
    locmem.fail_next(1, error=SmsPermanentError)
    with django_capture_on_commit_callbacks(execute=True):
        code = issue_quietly()
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.FAILED
    assert code.delivery_attempts == 1


def test_retry_backoff_is_exponential(monkeypatch):
    code = issue_quietly()
    locmem.fail_next(1)
    countdowns = []

    def record_retry(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        raise RuntimeError("stop")

    monkeypatch.setattr(verification_code_send, "retry", record_retry)
    for retries in (0, 1, 2):
        locmem.fail_next(1)
        with pytest.raises(RuntimeError):
            verification_code_send.apply(args=(code.pk, code_seal("123456")), retries=retries, throw=True)
    assert countdowns == [2, 4, 8]


def test_code_that_expired_before_delivery_is_not_sent():
    code = issue_quietly()
    sealed = code_seal("123456")
    with time_machine.travel(code.expires_at + datetime.timedelta(seconds=1)):
        assert verification_code_send.apply(args=(code.pk, sealed)).get() == "expired"
    assert sms.outbox == []
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.SKIPPED


def test_code_no_longer_pending_is_not_sent():
    code = issue_quietly()
    VerificationCode.objects.filter(pk=code.pk).update(state=VerificationCode.State.SUPERSEDED)
    assert verification_code_send.apply(args=(code.pk, code_seal("123456"))).get() == "skipped"
    assert sms.outbox == []


def test_delivery_is_idempotent():
    code = issue_quietly()
    sealed = code_seal("654321")
    assert verification_code_send.apply(args=(code.pk, sealed)).get() == "sent"
    assert verification_code_send.apply(args=(code.pk, sealed)).get() == "skipped"
    assert len(sms.outbox) == 1
    assert code_in(sms.outbox[0].body) == "654321"


def test_logs_carry_only_the_masked_target_and_never_the_code(caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    locmem.fail_next(1)
    _code, plain = issue_and_read(django_capture_on_commit_callbacks)
    text = caplog.text
    assert "+81******5678" in text
    assert PHONE not in text
    assert plain not in text


def flaky_email_send(monkeypatch, errors):
    """EmailMultiAlternatives.send raises each of `errors` once, then sends as usual."""
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send
    pending = list(errors)

    def send(self, fail_silently=False):
        if pending:
            raise pending.pop(0)
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)


def test_transient_smtp_error_is_retried(monkeypatch, django_capture_on_commit_callbacks):
    flaky_email_send(monkeypatch, [smtplib.SMTPServerDisconnected("gone"), smtplib.SMTPResponseException(421, b"busy")])
    code, _plain = issue_and_read(
        django_capture_on_commit_callbacks,
        purpose=VerificationCode.Purpose.EMAIL,
        target=ADDRESS,
        channel=VerificationCode.Channel.EMAIL,
    )
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.SENT
    assert code.delivery_attempts == 3


def test_smtp_refusal_is_not_retried(monkeypatch, django_capture_on_commit_callbacks):
    flaky_email_send(monkeypatch, [smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"no such user")})])
    with django_capture_on_commit_callbacks(execute=True):
        code = issue_quietly(
            purpose=VerificationCode.Purpose.EMAIL, target=ADDRESS, channel=VerificationCode.Channel.EMAIL
        )
    code.refresh_from_db()
    assert code.delivery == VerificationCode.Delivery.FAILED
    assert code.delivery_attempts == 1
    assert mail.outbox == []


# The broker's visibility timeout (accounts.checks, E007): a message held by a live worker
# must never be handed to a second one.


def check_ids() -> set[str]:
    from accounts.checks import accounts_settings_check

    return {error.id for error in accounts_settings_check()}


def test_visibility_timeout_of_the_settings_outlasts_the_longest_hold(settings):
    from django.conf import settings as django_settings

    from myspacecore.core.retry import longest_countdown

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    timeout = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > django_settings.CELERY_TASK_TIME_LIMIT + longest_countdown()
    assert "accounts.E007" not in check_ids()


def test_visibility_timeout_within_the_longest_hold_is_refused(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_TASK_TIME_LIMIT = 300
    for too_short in (60, 300, 600):
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": too_short}
        assert "accounts.E007" in check_ids(), too_short
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 601}
    assert "accounts.E007" not in check_ids()


def test_kombu_default_visibility_timeout_passes_and_no_time_limit_is_refused(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert "accounts.E007" not in check_ids()  # kombu's hour
    settings.CELERY_TASK_TIME_LIMIT = None
    assert "accounts.E007" in check_ids()


def test_visibility_timeout_is_not_checked_without_a_redis_broker(settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1}
    assert "accounts.E007" not in check_ids()


# What one delivery costs a worker: two statements, a connection kept between tasks, one SMS
# backend per thread.


def test_a_delivery_is_two_statements_the_claim_then_the_sent_record(django_assert_num_queries):
    code = issue_quietly()
    sealed = code_seal("123456")
    with django_assert_num_queries(2) as context:
        assert verification_code_send.apply(args=(code.pk, sealed)).get() == "sent"
    claim, sent = (query["sql"] for query in context.captured_queries)
    assert claim.startswith("UPDATE") and "RETURNING" in claim
    assert sent.startswith("UPDATE")
    code.refresh_from_db()
    assert (code.delivery, code.delivery_attempts) == (VerificationCode.Delivery.SENT, 1)
    assert code.delivered_at is not None


def test_worker_keeps_database_connections_and_applies_djangos_rules_around_each_task(monkeypatch):
    from types import SimpleNamespace

    from celery.fixups.django import DjangoWorkerFixup
    from django.conf import settings

    from myspacecore import celery as celery_module

    calls = []
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append("close_old_connections"))
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    celery_module.database_connections_around_task(sender=task)
    assert calls == ["close_old_connections"]
    # Run eagerly, a task is inside the caller's request (perhaps its transaction): left alone.
    celery_module.database_connections_around_task(sender=SimpleNamespace(request=SimpleNamespace(is_eager=True)))
    assert calls == ["close_old_connections"]
    # Connected to both signals, and Celery's fix-up closes connections only every
    # CELERY_DB_REUSE_MAX tasks, not around each.
    from celery.signals import task_postrun, task_prerun

    for signal in (task_prerun, task_postrun):
        assert any(receiver() is celery_module.database_connections_around_task for _key, receiver in signal.receivers)
    assert DjangoWorkerFixup(celery_module.app).db_reuse_max == settings.CELERY_DB_REUSE_MAX > 1


def test_database_lost_at_the_claim_is_retried_then_delivered(monkeypatch):
    from django.db import OperationalError

    from accounts.services import verification

    code = issue_quietly()
    real_claim = verification.verification_code_delivery_claim
    failures = [OperationalError("server closed the connection unexpectedly")]

    def claim(**kwargs):
        if failures:
            raise failures.pop()
        return real_claim(**kwargs)

    monkeypatch.setattr(verification, "verification_code_delivery_claim", claim)
    verification_code_send.apply(args=(code.pk, code_seal("123456")))
    assert [code_in(message.body) for message in sms.outbox] == ["123456"]
    code.refresh_from_db()
    assert (code.delivery, code.delivery_attempts) == (VerificationCode.Delivery.SENT, 1)


def test_the_configured_sms_backend_is_built_once_and_again_when_settings_change(settings, monkeypatch):
    from accounts import sms as sms_module

    built = []
    real_get_connection = sms_module.get_connection

    def counting_get_connection(*args, **kwargs):
        built.append(1)
        return real_get_connection(*args, **kwargs)

    monkeypatch.setattr(sms_module, "get_connection", counting_get_connection)
    settings.SMS_BACKEND = "accounts.sms.backends.locmem.SmsBackend"  # forgets the one built before
    sms_module.send_sms(PHONE, "one")
    sms_module.send_sms(PHONE, "two")
    assert len(built) == 1
    settings.SMS_BACKEND = "accounts.sms.backends.console.SmsBackend"
    assert isinstance(sms_module._configured_connection(), sms_module.backends.console.SmsBackend)
    assert len(built) == 2
    settings.SMS_BACKEND = "accounts.sms.backends.locmem.SmsBackend"
    assert [message.body for message in sms.outbox] == ["one", "two"]


# The provider's circuit (accounts.sms.circuit) seen by the tasks
# ------------------------------------------------------------------------------


def open_the_circuit(settings) -> None:
    settings.SMS_CIRCUIT_FAILURES = 1
    locmem.fail_next(1)
    with pytest.raises(sms.SmsTransientError):
        sms.send_sms(PHONE, "x")


def test_open_circuit_fails_the_delivery_at_once_without_retrying_or_calling_the_provider(settings, caplog):
    open_the_circuit(settings)
    code = issue_quietly()
    with caplog.at_level(logging.WARNING, logger="accounts.tasks"):
        assert verification_code_send.apply(args=(code.pk, code_seal("123456"))).get() == "failed"
    code.refresh_from_db()
    assert (code.delivery, code.delivery_attempts) == (VerificationCode.Delivery.FAILED, 1)
    assert sms.outbox == []
    # A provider outage the site already knows of: a warning, not an error per code.
    assert [r.levelname for r in caplog.records if r.name == "accounts.tasks"] == ["WARNING"]


def test_a_notice_waits_for_the_circuit_to_let_sends_through(settings, monkeypatch):
    from accounts.tasks import user_phone_changed_notice_send

    open_the_circuit(settings)
    recorded = []

    def record_retry(**kwargs):
        recorded.append(kwargs)
        raise RuntimeError("stop")

    monkeypatch.setattr(user_phone_changed_notice_send, "retry", record_retry)
    with pytest.raises(RuntimeError):
        user_phone_changed_notice_send.apply(kwargs={"old_phone": PHONE, "language": "ja"}, throw=True)
    (call,) = recorded
    assert isinstance(call["exc"], sms.SmsUnavailable)
    assert call["countdown"] >= settings.SMS_CIRCUIT_OPEN_SECONDS - 1  # not the notice's 0–1 s
