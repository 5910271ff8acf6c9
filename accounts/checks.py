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
    return errors
