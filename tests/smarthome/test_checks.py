"""Start-up checks refuse PIN settings that cannot work."""

from __future__ import annotations

from smarthome.checks import smarthome_settings_check


def ids(errors) -> set[str]:
    return {error.id for error in errors}


def test_test_settings_pass():
    assert smarthome_settings_check() == []


def test_missing_or_malformed_pin_keys_are_refused(settings):
    settings.SMARTHOME_PIN_KEYS = []
    assert "smarthome.E001" in ids(smarthome_settings_check())
    settings.SMARTHOME_PIN_KEYS = ["not-a-fernet-key"]
    assert "smarthome.E002" in ids(smarthome_settings_check())


def test_impossible_pin_lengths_are_refused(settings):
    settings.SMARTHOME_PIN_MIN_LENGTH = 8
    settings.SMARTHOME_PIN_MAX_LENGTH = 6
    assert "smarthome.E003" in ids(smarthome_settings_check())


def test_device_channel_settings_that_cannot_work_are_refused(settings):
    settings.SMARTHOME_DEVICE_TRANSPORT_BACKEND = "smarthome.sync.backends.nowhere.Transport"
    settings.SMARTHOME_DEVICE_CONFIRM_WARN_AFTER_SECONDS = 0
    settings.SMARTHOME_DEVICE_SIMULATED_ANSWER_SECONDS = -1
    assert {"smarthome.E020", "smarthome.E021", "smarthome.E022"} <= ids(smarthome_settings_check())
