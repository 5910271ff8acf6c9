"""Production: real services chosen by environment variables, secrets with no defaults.

A missing secret fails at boot rather than running with a guessable one.
"""

from .base import *  # noqa: F403
from .base import broker_transport, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
# The previous key(s) while sessions, CSRF tokens and password-reset links roll over (SECURITY.md).
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT = broker_transport(CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = False
# cached_db that falls back to PostgreSQL while Redis is down (see myspacecore/sessions.py).
SESSION_ENGINE = "myspacecore.sessions"

ACCOUNTS_CODE_HMAC_KEY = env("ACCOUNTS_CODE_HMAC_KEY")
SMARTHOME_PIN_KEYS = env.list("SMARTHOME_PIN_KEYS")
# The devices are reached over MQTT (docs/device-protocol.md): the broker and the secret the
# device keys come from have no default, so a deployment without them fails at boot.
SMARTHOME_DEVICE_TRANSPORT_BACKEND = env(
    "SMARTHOME_DEVICE_TRANSPORT_BACKEND", default="smarthome.sync.backends.mqtt.Transport"
)
SMARTHOME_MQTT_URL = env("SMARTHOME_MQTT_URL")
SMARTHOME_DEVICE_KEY_SECRET = env("SMARTHOME_DEVICE_KEY_SECRET")
ACCOUNTS_DELIVERY_KEYS = env.list("ACCOUNTS_DELIVERY_KEYS")
# Operator admins (who manage residents' data and staff) and platform staff sign in to the
# admin with a TOTP second factor; fixed here rather than read from the environment, so a
# deployment cannot switch it off by a missing variable.
ACCOUNTS_ADMIN_OTP_REQUIRED_GROUPS = ["operator_admin"]
ACCOUNTS_ADMIN_OTP_REQUIRE_SUPERUSERS = True

# SECURITY
# ------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The same TLS proxy appends the client's address to X-Forwarded-For: one trusted hop unless
# the deployment says otherwise (0 would count every resident under the proxy's address).
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The __Host- prefix pins the cookies to this host, HTTPS and path "/".
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# STATIC: compressed, hashed names served by whitenoise
# ------------------------------------------------------------------------------
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# E-MAIL through an anymail ESP (Postmark by default; any anymail backend works)
# ------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="anymail.backends.postmark.EmailBackend")
ANYMAIL = {"POSTMARK_SERVER_TOKEN": env("POSTMARK_SERVER_TOKEN", default="")}

# SMS through a real provider (Twilio by default)
# ------------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="accounts.sms.backends.twilio.SmsBackend")
