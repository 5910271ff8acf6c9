"""Celery tasks of the accounts app: thin interfaces to the services and the senders."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.sms import SmsTransientError, send_sms

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

    A delivery is two statements: the claim (one conditional UPDATE that counts the
    attempt and returns what the send needs, committed before the provider is called so a
    worker that dies mid-send leaves a trace), then the UPDATE to SENT.
    """
    from cryptography.fernet import InvalidToken
    from django.utils import timezone

    from accounts.app_settings import app_settings
    from accounts.models import VerificationCode
    from accounts.services.verification import code_unseal, mask_target

    now = timezone.now()
    try:
        plain = code_unseal(sealed)
    except InvalidToken:  # older than a code's lifetime: the code has expired too
        plain = None
    code = None if plain is None else _delivery_claim(code_id=code_id, now=now)
    if code is None:
        # Not claimed: settled, already sent, or expired. Only an expired one is recorded.
        expired = VerificationCode.objects.filter(
            pk=code_id, state=VerificationCode.State.PENDING, delivery=VerificationCode.Delivery.QUEUED
        )
        if plain is not None:
            expired = expired.filter(expires_at__lte=now)
        if expired.update(delivery=VerificationCode.Delivery.SKIPPED):
            logger.info("verification code #%s expired before delivery", code_id)
            return "expired"
        logger.info("verification code #%s: nothing to deliver", code_id)
        return "skipped"

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

    _delivery_sent(code_id=code.pk, now=timezone.now())
    if logger.isEnabledFor(logging.INFO):  # masking costs more than the send's own bookkeeping
        logger.info("verification code #%s sent by %s to %s", code.pk, code.channel, mask_target(code.target))
    return "sent"


def _delivery_claim(*, code_id: int, now):
    """Count one delivery attempt of a pending, queued, unexpired code and return it, else None.

    One `UPDATE … WHERE … RETURNING` (PostgreSQL, SQLite >= 3.35): the conditions and the
    attempt in one statement, no read before it. The returned code carries only what a
    send needs (pk, channel, target, language). Plain SQL because the ORM has no UPDATE …
    RETURNING; every value is a bound parameter.
    """
    from django.db import connection

    from accounts.models import VerificationCode

    meta, quote = VerificationCode._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in ("channel", "target", "language")]
    column = {name: quote(meta.get_field(name).column) for name in ("id", "state", "delivery", "expires_at")}
    attempts = quote(meta.get_field("delivery_attempts").column)
    returning = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        # Names come from the model's _meta; every value is a bound parameter.
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {attempts} = {attempts} + 1 "  # noqa: S608
            f"WHERE {column['id']} = %s AND {column['state']} = %s AND {column['delivery']} = %s "
            f"AND {column['expires_at']} > %s RETURNING {returning}",
            [
                code_id,
                VerificationCode.State.PENDING.value,
                VerificationCode.Delivery.QUEUED.value,
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return VerificationCode(pk=code_id, **{field.attname: value for field, value in zip(fields, row, strict=True)})


def _delivery_sent(*, code_id: int, now) -> None:
    """Record the send: one UPDATE, only while the delivery is still queued."""
    from accounts.models import VerificationCode

    VerificationCode.objects.filter(pk=code_id, delivery=VerificationCode.Delivery.QUEUED).update(
        delivery=VerificationCode.Delivery.SENT, delivered_at=now
    )


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


# Notices after a change (enqueued on commit by accounts.services.profile). They take the old
# number / address because after the change no row holds it any more. Sending a notice twice
# is harmless, so a retry needs no bookkeeping.


@shared_task(
    name="accounts.user_phone_changed_notice_send",
    autoretry_for=(ConnectionError, TimeoutError, SmsTransientError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    ignore_result=True,
)
def user_phone_changed_notice_send(*, old_phone: str, language: str) -> None:
    """Tell the old number that the account moved to another number (no new number in the text)."""
    with override(language):
        body = _("【SpaceCore】ご登録の電話番号が変更されました。お心当たりがない場合は、サポートまでご連絡ください。")
    send_sms(old_phone, body)


@shared_task(
    name="accounts.profile_email_changed_notice_send",
    autoretry_for=(ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    ignore_result=True,
)
def profile_email_changed_notice_send(*, old_email: str, language: str) -> None:
    """Tell the old address that the account's address changed (no new address in the text)."""
    from django.core.mail import send_mail

    with override(language):
        subject = _("SpaceCore メールアドレス変更のお知らせ")
        body = _(
            "MySpaceCore に登録されたメールアドレスが変更されました。\n"
            "お心当たりがない場合は、サポートまでご連絡ください。\n\n"
            "このメールは送信専用アドレスから送信しています。"
        )
    send_mail(subject, body, None, [old_email])


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
