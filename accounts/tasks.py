"""Celery tasks of the accounts app: thin interfaces to the services and the senders."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task

logger = logging.getLogger(__name__)

# Exponential backoff of delivery retries: 2, 4, 8, 16, 32 … seconds, capped.
RETRY_BACKOFF_BASE = 2
RETRY_BACKOFF_MAX = 300


def _transient_errors() -> tuple[type[BaseException], ...]:
    from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError

    from accounts.sms import SmsTransientError

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
    one is recorded as SKIPPED and never sent. Transient provider errors are retried with
    exponential backoff up to DELIVERY_MAX_RETRIES, then the delivery is recorded FAILED.
    Returns the outcome (for logs and tests).
    """
    from cryptography.fernet import InvalidToken
    from django.db.models import F
    from django.utils import timezone

    from accounts.app_settings import app_settings
    from accounts.models import VerificationCode
    from accounts.services.verification import code_unseal, mask_target

    code = VerificationCode.objects.filter(pk=code_id).first()
    pending = code is not None and code.state == VerificationCode.State.PENDING
    if not pending or code.delivery != VerificationCode.Delivery.QUEUED:
        logger.info("verification code #%s: nothing to deliver", code_id)
        return "skipped"
    try:
        plain = None if code.is_expired() else code_unseal(sealed)
    except InvalidToken:
        plain = None
    if plain is None:
        VerificationCode.objects.filter(pk=code.pk, delivery=VerificationCode.Delivery.QUEUED).update(
            delivery=VerificationCode.Delivery.SKIPPED
        )
        logger.info("verification code #%s expired before delivery to %s", code.pk, mask_target(code.target))
        return "expired"

    VerificationCode.objects.filter(pk=code.pk).update(delivery_attempts=F("delivery_attempts") + 1)
    try:
        _deliver(code, plain)
    except _transient_errors() as exc:
        if not _is_transient(exc):
            return _delivery_failed(code, exc)
        if self.request.retries >= app_settings.DELIVERY_MAX_RETRIES:
            return _delivery_failed(code, exc)
        countdown = min(RETRY_BACKOFF_BASE ** (self.request.retries + 1), RETRY_BACKOFF_MAX)
        logger.warning(
            "verification code #%s to %s: transient %s, retry %s in %s s",
            code.pk, mask_target(code.target), type(exc).__name__, self.request.retries + 1, countdown,
        )
        # On a worker retry() raises Retry; run eagerly (tests, local development) it returns
        # the retry, which Celery applies at once, without the countdown.
        return self.retry(
            exc=exc,
            countdown=countdown,
            max_retries=app_settings.DELIVERY_MAX_RETRIES,
            throw=not self.request.is_eager,
        )
    except Exception as exc:  # noqa: BLE001 - a refusal (bad number, permanent error): record it, do not retry
        return _delivery_failed(code, exc)

    VerificationCode.objects.filter(pk=code.pk, delivery=VerificationCode.Delivery.QUEUED).update(
        delivery=VerificationCode.Delivery.SENT, delivered_at=timezone.now()
    )
    logger.info("verification code #%s sent by %s to %s", code.pk, code.channel, mask_target(code.target))
    return "sent"


def _deliver(code, plain: str) -> None:
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    from accounts.messages import verification_email_render, verification_sms_render
    from accounts.models import VerificationCode
    from accounts.sms import send_sms

    if code.channel == VerificationCode.Channel.SMS:
        send_sms(code.target, verification_sms_render(code=plain, language=code.language))
        return
    content = verification_email_render(code=plain, language=code.language)
    message = EmailMultiAlternatives(
        subject=content.subject, body=content.text, from_email=settings.DEFAULT_FROM_EMAIL, to=[code.target]
    )
    message.attach_alternative(content.html, "text/html")
    message.send()


def _delivery_failed(code, exc: BaseException) -> str:
    from accounts.models import VerificationCode
    from accounts.services.verification import mask_target

    VerificationCode.objects.filter(pk=code.pk).exclude(delivery=VerificationCode.Delivery.SENT).update(
        delivery=VerificationCode.Delivery.FAILED
    )
    logger.error(
        "verification code #%s to %s: delivery failed (%s)", code.pk, mask_target(code.target), type(exc).__name__
    )
    return "failed"
