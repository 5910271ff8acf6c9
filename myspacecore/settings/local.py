"""Local development: embedded defaults, nothing to install or start.

SQLite, Celery tasks run eagerly in the request, e-mail and SMS printed on the console,
the cache in the SQLite database (shared by the processes of runserver).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Development-only keys: production.py requires real ones and has no defaults.
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="local-only-3c2b7f0e5d6a4b1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
)
ACCOUNTS_CODE_HMAC_KEY = env("ACCOUNTS_CODE_HMAC_KEY", default="local-only-code-hmac-key")
SMARTHOME_PIN_KEYS = env.list("SMARTHOME_PIN_KEYS", default=["bG9jYWwtb25seS1waW4ta2V5LTAwMDAwMDAwMDAwMDA="])
SMARTHOME_DEVICE_KEY_SECRET = env("SMARTHOME_DEVICE_KEY_SECRET", default="local-only-device-key-secret")
ACCOUNTS_DELIVERY_KEYS = env.list("ACCOUNTS_DELIVERY_KEYS", default=["bG9jYWwtb25seS1kZWxpdmVyeS1rZXktMDAwMDAwMDA="])
DEMO_DATA_ALLOWED = True
# Serve static files straight from the app folders (no collectstatic needed).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
