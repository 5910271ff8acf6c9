"""Celery tasks of the accounts app: thin interfaces to the services and the senders."""

from __future__ import annotations

import dataclasses
import functools
import logging
import smtplib

from celery import shared_task

import myspacecore.celery  # noqa: F401  (@shared_task binds to the project's app: myspacecore/__init__.py)
from accounts.sms import SmsTransientError, SmsUnavailable, send_sms
from myspacecore.core.retry import CODE_DELIVERY, NOTICE, RETRY_POLICIES, RetryPolicy, retry_or_give_up

logger = logging.getLogger(__name__)


def _delivery_policy() -> RetryPolicy:
    """The code delivery policy, with ACCOUNTS_DELIVERY_MAX_RETRIES retries."""
    from accounts.app_settings import app_settings

    return dataclasses.replace(RETRY_POLICIES[CODE_DELIVERY], max_retries=app_settings.DELIVERY_MAX_RETRIES)


@functools.cache
def _transient_errors() -> tuple[type[BaseException], ...]:
    """Provider errors that may be transient (_is_transient sorts the SMTP and HTTP answers)."""
    from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError

    return (
        SmsTransientError,
        ConnectionError,
        TimeoutError,
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
        smtplib.SMTPResponseException,
        AnymailRequestsAPIError,
        AnymailAPIError,
    )


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(exc, smtplib.SMTPConnectError):
        # 4xx answers are "try again later"; 5xx are refusals.
        return 400 <= exc.smtp_code < 500
    status = getattr(exc, "status_code", None)
    if status is not None:
        return status == 429 or status >= 500
    return True


@shared_task(bind=True, acks_late=True, ignore_result=True)
def verification_code_send(self, code_id: int, sealed: str):
    """Deliver code `code_id` (sealed plain code in `sealed`) by SMS or e-mail.

    Idempotent: a code that is no longer pending, or already sent, is skipped; an expired
    one is recorded as SKIPPED and never sent. Transient provider errors are retried on the
    code delivery policy (myspacecore.core.retry), then the delivery is recorded FAILED.
    Returns the outcome (for logs and tests).

    A delivery is two statements: the claim (one conditional UPDATE that counts the
    attempt and returns what the send needs, committed before the provider is called so a
    worker that dies mid-send leaves a trace), then the UPDATE to SENT. A database error at
    the claim (nothing sent yet) is retried like a provider's.
    """
    from cryptography.fernet import InvalidToken
    from django.db import InterfaceError, OperationalError
    from django.utils import timezone

    from accounts.services.verification import (
        code_unseal,
        verification_code_delivery_claim,
        verification_code_delivery_sent,
        verification_code_delivery_skip,
    )

    now = timezone.now()
    try:
        plain = code_unseal(sealed)
    except InvalidToken:  # older than a code's lifetime: the code has expired too
        plain = None
    try:
        code = None if plain is None else verification_code_delivery_claim(code_id=code_id, now=now)
    except (OperationalError, InterfaceError) as exc:
        # The database went away (an outage, a restart, a connection cut mid-task): nothing
        # was sent. Again later, on a new connection; once retries run out Celery raises.
        return retry_or_give_up(
            self, exc, policy=_delivery_policy(), what=f"verification code #{code_id}: database", logger=logger
        )
    if code is None or plain is None:
        # Not claimed: settled, already sent, or expired. Only an expired one is recorded.
        if verification_code_delivery_skip(code_id=code_id, now=None if plain is None else now):
            logger.info("verification code #%s expired before delivery", code_id)
            return "expired"
        logger.info("verification code #%s: nothing to deliver", code_id)
        return "skipped"

    try:
        _deliver(code, plain)
    except SmsUnavailable as exc:
        # The provider keeps failing (its circuit is open): no retry behind it. The code page
        # says at once that the SMS could not be sent and when to ask again.
        return _delivery_failed(code, exc, level=logging.WARNING)
    except _transient_errors() as exc:
        return _delivery_retry_or_fail(self, code, exc)
    except Exception as exc:  # noqa: BLE001 - a refusal (bad number, permanent error): record it, do not retry
        return _delivery_failed(code, exc)

    verification_code_delivery_sent(code_id=code.pk, now=timezone.now())
    if logger.isEnabledFor(logging.INFO):  # masking costs more than the send's own bookkeeping
        from accounts.services.verification import mask_target

        logger.info("verification code #%s sent by %s to %s", code.pk, code.channel, mask_target(code.target))
    return "sent"


def _delivery_retry_or_fail(task, code, exc: BaseException) -> str:
    from accounts.services.verification import mask_target

    if not _is_transient(exc):
        return _delivery_failed(code, exc)
    return retry_or_give_up(
        task,
        exc,
        policy=_delivery_policy(),
        what=f"verification code #{code.pk} to {mask_target(code.target)}",
        logger=logger,
        give_up=functools.partial(_delivery_failed, code, exc),
    )


def _deliver(code, plain: str) -> None:
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    from accounts.messages import verification_email_render, verification_sms_render
    from accounts.models import VerificationCode

    if code.channel == VerificationCode.Channel.SMS:
        send_sms(code.target, verification_sms_render(code=plain, language=code.language))
        return
    content = verification_email_render(code=plain, language=code.language)
    message = EmailMultiAlternatives(
        subject=content.subject, body=content.text, from_email=settings.DEFAULT_FROM_EMAIL, to=[code.target]
    )
    message.attach_alternative(content.html, "text/html")
    message.send()


def _delivery_failed(code, exc: BaseException, *, level: int = logging.ERROR) -> str:
    from accounts.services.verification import mask_target, verification_code_delivery_fail

    verification_code_delivery_fail(code_id=code.pk)
    logger.log(
        level,
        "verification code #%s to %s: delivery failed (%s)",
        code.pk,
        mask_target(code.target),
        type(exc).__name__,
    )
    return "failed"


# Notices after a change (enqueued on commit by accounts.services.profile). They take the old
# number / address because after the change no row holds it any more. Sending a notice twice
# is harmless, so a retry needs no bookkeeping.


@shared_task(
    bind=True,
    name="accounts.user_phone_changed_notice_send",
    autoretry_for=(ConnectionError, TimeoutError, SmsTransientError),
    **RETRY_POLICIES[NOTICE].task_options(),
    ignore_result=True,
)
def user_phone_changed_notice_send(
    self,
    *,
    old_phone: str,
    language: str,
    operator_id: int | None = None,
    email: str | None = None,
    contact_operator_id: int | None = None,
) -> None:
    """Tell the old number (and the account's address) that the sign-in number changed, who
    changed it, and whom to call if that was not the resident's wish (no new number in the text).

    `operator_id`: the management company that changed it from the console; otherwise the
    resident did, and the contact is `contact_operator_id`'s company (their management
    company), or SpaceCore support without one.
    While the SMS provider's circuit is open the notice waits until it may be tried again
    (its retries would be spent in seconds).
    """
    from django.core.mail import send_mail

    from accounts.notices import phone_change_notice

    sms_text, subject, body = phone_change_notice(
        operator_id=operator_id, language=language, contact_operator_id=contact_operator_id
    )
    try:
        send_sms(old_phone, sms_text)
    except SmsUnavailable as exc:
        policy = RETRY_POLICIES[NOTICE]
        countdown = max(exc.retry_after, policy.countdown(self.request.retries))
        # Run eagerly (tests, local development) the retry runs at once and returns.
        return self.retry(exc=exc, countdown=countdown, throw=not self.request.is_eager)
    if email:
        send_mail(subject, body, None, [email])
    return None


@shared_task(
    name="accounts.profile_email_changed_notice_send",
    autoretry_for=(ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError),
    **RETRY_POLICIES[NOTICE].task_options(),
    ignore_result=True,
)
def profile_email_changed_notice_send(*, old_email: str, language: str, contact_operator_id: int | None = None) -> None:
    """Tell the old address that the account's address changed (no new address in the text),
    and whom to call if it was not the resident (accounts.notices)."""
    from django.core.mail import send_mail

    from accounts.notices import email_change_notice

    subject, body = email_change_notice(language=language, contact_operator_id=contact_operator_id)
    send_mail(subject, body, None, [old_email])


@shared_task(
    name="accounts.staff_signin_throttled_notice_send",
    autoretry_for=(ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError),
    **RETRY_POLICIES[NOTICE].task_options(),
    ignore_result=True,
)
def staff_signin_throttled_notice_send(*, staff_id: int, until: str) -> None:
    """Tell a staff member that failed passwords are throttling their admin sign-in, until when,
    and how to get in meanwhile. Nothing when the account has gone or has no address."""
    from accounts.services.staff_signin import staff_signin_throttled_notice

    staff_signin_throttled_notice(staff_id=staff_id, until=until)


# Beat: the same cleanup as `manage.py cleanup_verification_codes`. Longer limits than the
# site default (60 s): a first run on a big table is long, and a run cut short is harmless
# (it loses one batch; the next run goes on).
@shared_task(
    name="accounts.verification_codes_cleanup", ignore_result=True, soft_time_limit=25 * 60, time_limit=30 * 60
)
def verification_codes_cleanup_run() -> int:
    """Beat: the same cleanup as `manage.py cleanup_verification_codes`; returns how many went."""
    from accounts.services.cleanup import verification_codes_cleanup

    return verification_codes_cleanup().processed
