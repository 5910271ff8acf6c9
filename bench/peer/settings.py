"""django-allauth 65.x on its defaults, with login by a 6-digit code, for the peer benchmark.

What differs from a fresh `startproject` + allauth's quick start, and why:
- login by code on (the flow compared), a 6-digit numeric code (ours is 6 digits);
- rate limits off (`ACCOUNT_RATE_LIMITS = False`), as the issue asks of the peer;
- PostgreSQL with the connection kept 60 s and health checks, Redis as the cache and
  `cached_db` sessions: the same storage design as ours (`myspacecore.sessions` is
  `cached_db` on Redis over PostgreSQL), so the session store is not what is compared;
- e-mail to a file per recipient (`bench.peer.mail`), written inside the request as
  allauth sends it: the benchmark reads the code there, and no provider is waited on;
- DEBUG off, plain HTTP on 127.0.0.1 (no Secure cookies), as bench/settings.py does for ours.
"""

import os
import tempfile
from urllib.parse import urlparse

SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "peer-bench-only-" + "y" * 50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]  # testserver: bench.peer.queries

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "bench.peer.urls"
WSGI_APPLICATION = "bench.peer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_db = urlparse(os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/allauth_peer"))
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "",
        "PORT": str(_db.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/13"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_RATE_LIMITS = False

EMAIL_BACKEND = "bench.peer.mail.InboxEmailBackend"
# The benchmark passes a fresh folder; by hand, messages go to the system temporary folder, never into the repo.
PEER_MAIL_DIR = os.environ.get("PEER_MAIL_DIR", tempfile.gettempdir())

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
