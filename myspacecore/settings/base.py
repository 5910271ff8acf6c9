"""Base settings to build other settings files upon.

Every value is read through django-environ, so each deployment chooses its services with
environment variables. The defaults here are the embedded ones: nothing to install.
"""

from pathlib import Path

import environ
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env beside manage.py is read only when asked for (cookiecutter-django's switch): a stray
# .env left on a server must never override the environment the deployment sets.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
TIME_ZONE = "Asia/Tokyo"
USE_TZ = True
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language switch's choice outlives the browser session (Django's default: it does not);
# a signed-in resident's choice is also kept on the account and re-applied at sign-in.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
USE_I18N = True

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a few people at once (make run): WAL lets reads go on
    # beside a write, a writer waits up to 20 s for the lock instead of failing at once, and
    # IMMEDIATE takes the write lock when a transaction starts, so two saves at the same
    # moment queue instead of one answering 500 "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# URLS
# ------------------------------------------------------------------------------
ROOT_URLCONF = "myspacecore.urls"
WSGI_APPLICATION = "myspacecore.wsgi.application"

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # Django
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Django's admin with the operator console's site (throttled sign-in, second factor).
    "myspacecore.console.site.OperatorAdminConfig",
    # FORM_RENDERER = TemplatesSetting finds Django's widget templates through this app.
    "django.forms",
    # Third-party
    "phonenumber_field",
    "myspacecore.apps.AnymailConfig",  # django-anymail, its checks imported only when checks run
    "myspacecore.apps.CspConfig",  # django-csp, its checks imported only when checks run
    # The admin's TOTP second factor; its migrations come with the package.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Ours, lowest room first (ARCHITECTURE.md)
    "myspacecore.tenancy",
    "accounts",
    "smarthome",
    "myspacecore.help",
    "myspacecore.console",
    # seed_demo (refused unless DEMO_DATA_ALLOWED)
    "myspacecore.demo",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# SessionUserBackend loads a session's user with its attribute and profile (one query, not
# three); ModelBackend keeps the admin's password sign-in, permissions and sessions made before.
AUTHENTICATION_BACKENDS = ["accounts.backends.SessionUserBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "accounts:mypage"
LOGOUT_REDIRECT_URL = "accounts:signin"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "myspacecore.core.content_security_policy.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, whose token check would read the body: 413 for a body its page does not take.
    "myspacecore.core.body_limits.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the admin's second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "accounts.middleware.LeaseInvitationsMiddleware",
    "accounts.middleware.ProfileRequiredMiddleware",
    # Last, so it sees a view's exception first: 429 / 503 pages for the code flows' refusals.
    "myspacecore.core.refusals.RefusalPagesMiddleware",
]

# Request bodies (myspacecore.core.body_limits): every form of ours needs a few KB; the
# roster CSV import takes a file of up to 2 MB (tenancy.services.roster.MAX_BYTES) plus the
# multipart framing and its other fields.
REQUEST_BODY_MAX_BYTES = 256 * 1024
REQUEST_BODY_MAX_BYTES_BY_URL_NAME = {"admin:tenancy_lease_import": 2 * 1024 * 1024 + 64 * 1024}

# Permissions-Policy (django-permissions-policy): no page of ours uses any of these.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served at the site's root by whitenoise: /favicon.ico, which browsers and monitors ask for.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "myspacecore.context_processors.site",
                # After Django's built-in csrf processor: the same token, masked from one random read.
                "myspacecore.core.csrf_tokens.csrf",
            ],
            # {% shared %}: the page chrome rendered once per language and display values;
            # {% form_fields %} and the other form tags: a form's fields written in Python;
            # {% device_items %}: the device list's lines, and {% status_messages %}, likewise.
            "libraries": {
                "shared": "myspacecore.core.shared_fragments",
                "forms": "myspacecore.core.form_tags",
                "device_items": "smarthome.device_items",
                "site_messages": "myspacecore.core.message_tags",
            },
        },
    },
]
# Django's widget templates (TemplatesSetting), the plain <input> written directly (same HTML).
FORM_RENDERER = "myspacecore.core.form_renderer.FormRenderer"

# SECURITY (tightened further in production.py)
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
# Sessions in accounts' table, which names each session's account (accounts/sessions.py);
# production puts a cache in front of the same table (myspacecore/sessions.py).
SESSION_ENGINE = "accounts.sessions"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# A refused form (expired page, cookies off) gets the site's 403 page with what to do next.
CSRF_FAILURE_VIEW = "myspacecore.core.refusals.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    },
}

# CACHES (ratelimit counters and waits must be shared between processes)
# ------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Shared between processes and needs nothing installed (`createcachetable`).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "myspacecore.core.refusals.ratelimited"
# The client's address for every limit and log line (myspacecore/core/client_ip.py): the
# right-most X-Forwarded-For address our own proxies did not add, else the connection's.
# django-ratelimit calls it and masks IPv6 to a /64 (RATELIMIT_IPV6_MASK, its default).
RATELIMIT_IP_META_KEY = "myspacecore.core.client_ip.client_ip"
RATELIMIT_IPV6_MASK = 64
# How many proxies of ours stand in front of gunicorn (1: one nginx or load balancer), and
# the networks they send from; both empty: X-Forwarded-For is never read.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=[])

# CELERY
# ------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")


def broker_transport(url: str) -> str | None:
    """A redis:// broker: kombu's Redis transport with one client per channel for what it
    sends (myspacecore/celery_broker.py); any other URL: the transport its scheme names."""
    return "myspacecore.celery_broker:Transport" if url.startswith("redis://") else None


CELERY_BROKER_TRANSPORT = broker_transport(CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes every database connection before and after each task unless
# told to reuse them: each delivery then paid a new PostgreSQL connection, most of its time.
# It now closes them every 1,000 tasks only; between, myspacecore.celery applies Django's
# CONN_MAX_AGE and CONN_HEALTH_CHECKS around each task, as around a request.
CELERY_DB_REUSE_MAX = 1000
# A pool child killed mid-task (OOM, deploy): its acks_late message goes back to the queue
# instead of being acked as failed, so a code in delivery is still sent (tasks are idempotent).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that enqueues must fail fast (and say so) when the broker is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
# Redis broker: a message a worker has taken but not acknowledged (an acks_late task running,
# a retry held until its countdown) goes back to the queue after `visibility_timeout`. A worker
# killed outright (SIGKILL, lost machine) gives its messages back only then. It must outlast
# the longest hold, a retry's countdown then the task's hard time limit (300 + 300 s, checked
# by accounts.E007), or a running task is handed out a second time. 15 minutes: that bound
# plus room to wait for a free pool child, instead of kombu's hour. Too late for a code
# (5 minutes): a delivery that comes back is recorded as skipped; the resident asks again.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=15 * 60),
}


def _crontab(**fields):
    """Celery's crontab, built when beat first reads it: settings are read by every process,
    and importing Celery here would cost each management command and page process ~0.1 s."""

    def build():
        from celery.schedules import crontab

        return crontab(**fields)

    return SimpleLazyObject(build)


# The bulk cleanups, run by beat with the same services as the `cleanup_*` commands.
CELERY_BEAT_SCHEDULE: dict = {
    "move-out-reset": {"task": "smarthome.leases_ended_reset_run", "schedule": _crontab(hour=3, minute=0)},
    "purge-requests-sweep": {"task": "smarthome.settings_purge_requests_sweep", "schedule": _crontab(minute=17)},
    "verification-codes-cleanup": {"task": "accounts.verification_codes_cleanup", "schedule": _crontab(minute=41)},
    # The device channel: publish again to channels that lag; flag devices unconfirmed too long.
    "device-desired-lagging": {"task": "smarthome.desired_lagging_run", "schedule": _crontab(minute="*/5")},
    "devices-unconfirmed": {"task": "smarthome.devices_unconfirmed_run", "schedule": _crontab(minute=23)},
}
# The bulk sweeps (up to 30 minutes each) go to their own queue, served by their own worker
# (Procfile `maintenance`): a code's delivery (5 minutes to live) never waits behind them for
# a free pool child.
CELERY_TASK_ROUTES = {entry["task"]: {"queue": "maintenance"} for entry in CELERY_BEAT_SCHEDULE.values()}
# A code's delivery has its own queue and worker (Procfile `codes`): a resident waits for it,
# and a hanging provider must hold only these workers, not the purges and notices on `celery`.
CODE_DELIVERY_QUEUE = "codes"
CELERY_TASK_ROUTES["accounts.tasks.verification_code_send"] = {"queue": CODE_DELIVERY_QUEUE}

# E-MAIL
# ------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@my.space-core.net")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = 10

# SMS (pluggable backends, modelled on Django's e-mail backends)
# ------------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="accounts.sms.backends.console.SmsBackend")
# The file-based backend's folder (one file per SMS), in every settings module alike.
SMS_FILE_PATH = env("SMS_FILE_PATH", default="")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
# Empty: the SDK's https://api.twilio.com. A regional endpoint, or a stand-in provider in tests.
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")
# Seconds before a provider call gives up (as EMAIL_TIMEOUT): a hung call is then a transient
# error, retried with backoff, not a task stuck until its time limit and recorded as failed.
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10)
# The provider's circuit breaker (accounts.sms.circuit, state in the cache so every worker
# shares it): this many transient failures within the window open it; while open, no SMS
# is attempted for SMS_CIRCUIT_OPEN_SECONDS, then one trial send decides.
SMS_CIRCUIT_FAILURES = env.int("SMS_CIRCUIT_FAILURES", default=5)
SMS_CIRCUIT_WINDOW = env.int("SMS_CIRCUIT_WINDOW", default=60)
SMS_CIRCUIT_OPEN_SECONDS = env.int("SMS_CIRCUIT_OPEN_SECONDS", default=60)

# PHONE NUMBERS
# ------------------------------------------------------------------------------
PHONENUMBER_DEFAULT_REGION = "JP"
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"

# MYSPACECORE (each app reads its tunables through its app_settings object)
# ------------------------------------------------------------------------------
# Keyed hash of verification codes; separate from SECRET_KEY so either can rotate alone.
ACCOUNTS_CODE_HMAC_KEY = env("ACCOUNTS_CODE_HMAC_KEY", default="")
# Fernet keys for smart-lock PINs, newest first (MultiFernet); see SECURITY.md to rotate.
SMARTHOME_PIN_KEYS = env.list("SMARTHOME_PIN_KEYS", default=[])
# The device channel's MQTT broker (docs/device-protocol.md): mqtt://user:password@host:1883, or
# mqtts://… for TLS; its user is the gateway's (reads every report, writes every desired state).
SMARTHOME_MQTT_URL = env("SMARTHOME_MQTT_URL", default="mqtt://127.0.0.1:1883")
# Every device's own key is derived from this secret (smarthome/sync/protocol.py): the hubs are
# provisioned with keys derived from it, so it never rotates with DJANGO_SECRET_KEY.
SMARTHOME_DEVICE_KEY_SECRET = env("SMARTHOME_DEVICE_KEY_SECRET", default="")
SMARTHOME_MQTT_TOPIC_PREFIX = env("SMARTHOME_MQTT_TOPIC_PREFIX", default="msc/v1")
# A gateway instance's MQTT client id, the same at every restart so its session resumes.
SMARTHOME_MQTT_GATEWAY_CLIENT_ID = env("SMARTHOME_MQTT_GATEWAY_CLIENT_ID", default="")
# How desired state reaches the hubs (smarthome/sync/backends): the simulated hub unless told.
SMARTHOME_DEVICE_TRANSPORT_BACKEND = env(
    "SMARTHOME_DEVICE_TRANSPORT_BACKEND", default="smarthome.sync.backends.simulated.Transport"
)
# The newest entry seals codes in the task message, so the broker never holds one in clear.
ACCOUNTS_DELIVERY_KEYS = env.list("ACCOUNTS_DELIVERY_KEYS", default=[])
ACCOUNTS_SMS_GLOBAL_HOURLY_CAP = env.int("ACCOUNTS_SMS_GLOBAL_HOURLY_CAP", default=1000)
# SpaceCore support, named in change notices as whom to call when a resident did not ask for
# the change (a management company's change names that company instead).
SUPPORT_CONTACT_PHONE = env("SUPPORT_CONTACT_PHONE", default="")
SUPPORT_CONTACT_EMAIL = env("SUPPORT_CONTACT_EMAIL", default="support@space-core.net")
# The name authenticator apps show beside a staff member's admin TOTP entry.
OTP_TOTP_ISSUER = "MySpaceCore"

# LOGGING: never a code, a PIN or a full phone number (services log them masked:
# myspacecore.core.masking)
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
