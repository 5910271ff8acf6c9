"""Start-up checks: refuse settings that cannot work rather than fail on a resident."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.checks import Error, register

from .app_settings import app_settings


@register()
def accounts_settings_check(app_configs=None, **kwargs) -> list[Error]:
    errors: list[Error] = []
    if not app_settings.CODE_HMAC_KEY:
        errors.append(Error("ACCOUNTS_CODE_HMAC_KEY is empty.", id="accounts.E001"))
    if app_settings.FAILURE_WAIT > app_settings.MAX_WAIT:
        errors.append(Error("ACCOUNTS_FAILURE_WAIT is longer than ACCOUNTS_MAX_WAIT.", id="accounts.E002"))
    if app_settings.CODE_LIFETIME.total_seconds() <= 0:
        errors.append(Error("ACCOUNTS_CODE_LIFETIME must be positive.", id="accounts.E003"))
    if not 0 < app_settings.MAX_CONSECUTIVE_FAILURES <= 100:
        errors.append(
            Error("ACCOUNTS_MAX_CONSECUTIVE_FAILURES must be 1–100 (NIST SP 800-63B-4).", id="accounts.E004")
        )
    keys = app_settings.DELIVERY_KEYS
    if not keys:
        errors.append(Error("ACCOUNTS_DELIVERY_KEYS is empty.", id="accounts.E005"))
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(Error("An ACCOUNTS_DELIVERY_KEYS entry is not a Fernet key.", id="accounts.E006"))
    errors += _broker_visibility_errors()
    return errors


def _broker_visibility_errors() -> list[Error]:
    """A Redis broker must not hand a code's delivery out again while a live worker still holds it.

    The longest hold is a retry waiting out its countdown (at most the longest of any task's
    retry policy, myspacecore.core.retry) and then running up to the hard time limit
    (acks_late). Past the visibility timeout kombu puts the message back on the queue, and a
    second worker would run it beside the first.
    """
    from django.conf import settings

    from myspacecore.core.retry import longest_countdown

    if not str(getattr(settings, "CELERY_BROKER_URL", "")).startswith(("redis://", "rediss://", "sentinel://")):
        return []
    time_limit = getattr(settings, "CELERY_TASK_TIME_LIMIT", None)
    if not time_limit:
        return [Error("CELERY_TASK_TIME_LIMIT must be set: acks_late tasks need a bounded run.", id="accounts.E007")]
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    visibility_timeout = options.get("visibility_timeout", 3600)  # kombu's default
    longest_hold = time_limit + longest_countdown()
    if visibility_timeout <= longest_hold:
        return [
            Error(
                f"CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] ({visibility_timeout} s) must be longer "
                f"than the longest retry countdown plus CELERY_TASK_TIME_LIMIT ({longest_hold} s): "
                "Redis would hand a task still held by a worker to another one.",
                id="accounts.E007",
            )
        ]
    return []
