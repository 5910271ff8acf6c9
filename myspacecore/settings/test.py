"""Settings for the test suite, so that tests run faster and never leave the machine.

The database is SQLite unless DATABASE_URL says otherwise (the integration tier points
it at PostgreSQL and REDIS_URL at Redis, and runs a real Celery worker).
"""

from .base import *  # noqa: F403
from .base import REDIS_URL, env

DEBUG = False
SECRET_KEY = "test-only-8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c"
ACCOUNTS_CODE_HMAC_KEY = "test-only-code-hmac-key"
SMARTHOME_PIN_KEYS = ["dGVzdC1vbmx5LXBpbi1rZXktMDAwMDAwMDAwMDAwMDA="]
SMARTHOME_DEVICE_KEY_SECRET = "test-only-device-key-secret"
ACCOUNTS_DELIVERY_KEYS = ["dGVzdC1vbmx5LWRlbGl2ZXJ5LWtleS0wMDAwMDAwMDA="]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = env("SMS_BACKEND", default="accounts.sms.backends.locmem.SmsBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if not REDIS_URL:
    # Per-process and cleared between tests; the integration tier uses Redis instead.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = 1000
# The simulated hub answers at once: a test sees a change confirmed when its transaction commits.
SMARTHOME_DEVICE_SIMULATED_ANSWER_SECONDS = env.float("SMARTHOME_DEVICE_SIMULATED_ANSWER_SECONDS", default=0)
DEMO_DATA_ALLOWED = True
# Serve static files straight from the app folders (no collectstatic needed).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
