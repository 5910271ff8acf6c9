"""The smarthome app's tunables, read through one object with documented defaults.

Override any of them in Django settings with the `SMARTHOME_` prefix, e.g.
`SMARTHOME_PINS_PER_LOCK = 30`. `smarthome.checks` rejects impossible values at start-up.
"""

from __future__ import annotations

from myspacecore.core.app_settings import AppSettings

_DEFAULTS: dict[str, object] = {
    # Fernet keys for smart-lock PINs, newest first (MultiFernet). Rotate: prepend a
    # new key, run `manage.py smarthome_rotate_pin_key`, then drop the old key.
    "PIN_KEYS": [],
    # PIN length in digits (SPEC: 4–10).
    "PIN_MIN_LENGTH": 4,
    "PIN_MAX_LENGTH": 10,
    # Slots of one smart lock.
    "PINS_PER_LOCK": 20,
    # The device channel (smarthome/sync; docs/device-protocol.md).
    # How desired state reaches the hubs: memory (unit tests), simulated (make run), mqtt.
    "DEVICE_TRANSPORT_BACKEND": "smarthome.sync.backends.simulated.Transport",
    # Secret every device's own key is derived from (protocol.device_key); empty: SECRET_KEY.
    "DEVICE_KEY_SECRET": "",
    # MQTT broker (mqtt://user:pass@host:1883, mqtts://… for TLS) and topic prefix.
    "MQTT_URL": "mqtt://127.0.0.1:1883",
    "MQTT_TOPIC_PREFIX": "msc/v1",
    # A device whose settings stay unconfirmed this long is listed for the operator and logged.
    "DEVICE_CONFIRM_WARN_AFTER_SECONDS": 24 * 3600,
    # The simulated transport: seconds before its hub answers (0: at once, as in the tests), and
    # the PIN slots of its locks (0: SMARTHOME_PINS_PER_LOCK).
    "DEVICE_SIMULATED_ANSWER_SECONDS": 2.0,
    "DEVICE_SIMULATED_LOCK_SLOTS": 0,
}


app_settings = AppSettings("SMARTHOME", _DEFAULTS)
