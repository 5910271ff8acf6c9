"""Start-up checks: refuse settings that cannot work rather than fail on a resident."""

from __future__ import annotations

from django.core.checks import Error, register
from django.utils.module_loading import import_string

# This module is imported at every start-up (SmarthomeConfig.ready); what a check reads is
# imported when the checks run, as accounts.checks does.


@register()
def smarthome_settings_check(app_configs=None, **kwargs) -> list[Error]:
    from cryptography.fernet import Fernet

    from .app_settings import app_settings

    errors: list[Error] = []
    keys = app_settings.PIN_KEYS
    if not keys:
        errors.append(Error("SMARTHOME_PIN_KEYS is empty.", id="smarthome.E001"))
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(Error("A SMARTHOME_PIN_KEYS entry is not a Fernet key.", id="smarthome.E002"))
    if not 1 <= app_settings.PIN_MIN_LENGTH <= app_settings.PIN_MAX_LENGTH:
        errors.append(Error("SMARTHOME_PIN_MIN_LENGTH must be 1..SMARTHOME_PIN_MAX_LENGTH.", id="smarthome.E003"))
    if app_settings.PINS_PER_LOCK < 1:
        errors.append(Error("SMARTHOME_PINS_PER_LOCK must be positive.", id="smarthome.E004"))
    return errors + _device_channel_errors()


def _device_channel_errors() -> list[Error]:
    from .app_settings import app_settings

    errors: list[Error] = []
    try:
        import_string(app_settings.DEVICE_TRANSPORT_BACKEND)
    except ImportError:
        errors.append(Error("SMARTHOME_DEVICE_TRANSPORT_BACKEND cannot be imported.", id="smarthome.E020"))
    if app_settings.DEVICE_CONFIRM_WARN_AFTER_SECONDS < 60:
        errors.append(Error("SMARTHOME_DEVICE_CONFIRM_WARN_AFTER_SECONDS must be 60 or more.", id="smarthome.E021"))
    if app_settings.DEVICE_SIMULATED_ANSWER_SECONDS < 0 or app_settings.DEVICE_SIMULATED_LOCK_SLOTS < 0:
        errors.append(Error("SMARTHOME_DEVICE_SIMULATED_* must not be negative.", id="smarthome.E022"))
    return errors
