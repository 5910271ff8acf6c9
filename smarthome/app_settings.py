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
}


app_settings = AppSettings("SMARTHOME", _DEFAULTS)
