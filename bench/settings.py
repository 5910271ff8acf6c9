"""Benchmark settings: production, relaxed only for plain HTTP on 127.0.0.1.

Production forces the HTTPS redirect, Secure cookies and the `__Host-` cookie prefix
(which browsers and clients only accept over HTTPS); a load generator on 127.0.0.1
speaks plain HTTP, so those are turned off here and nothing else. Database, Redis
cache and sessions, Celery broker, DEBUG off, middleware and templates are production's.
"""

from myspacecore.settings.production import *  # noqa: F403
from myspacecore.settings.production import env

ROOT_URLCONF = "bench.urls"

# Plain HTTP: no redirect to https, no HSTS, cookies without Secure and without __Host-.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_NAME = "csrftoken"

# No collectstatic step: the pages are measured, not their static files.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Providers are bench doubles (bench/sms.py): never a real SMS or e-mail from a benchmark.
SMS_BACKEND = env("SMS_BACKEND", default="bench.sms.InstantSmsBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", default="")
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Every request comes from 127.0.0.1: the load generators send X-Forwarded-For (one
# address per simulated resident) as the production proxy would, one trusted hop.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=1)
DJANGO_LOG_LEVEL = "WARNING"
LOGGING["root"]["level"] = env("DJANGO_LOG_LEVEL", default="WARNING")  # noqa: F405
