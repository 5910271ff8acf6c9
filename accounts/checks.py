"""Start-up checks: refuse settings that cannot work rather than fail on a resident."""

from __future__ import annotations

import datetime
import itertools
import os

from django.core.checks import Error, register

# This module is imported at every start-up (AccountsConfig.ready), a cleanup command's
# included; what a check reads is imported when the checks run: the app's settings (with
# them the retry policies), cryptography, the rate parser.


@register()
def accounts_settings_check(app_configs=None, **kwargs) -> list[Error]:
    from cryptography.fernet import Fernet

    from .app_settings import app_settings

    errors: list[Error] = []
    if not app_settings.CODE_HMAC_KEY:
        errors.append(Error("ACCOUNTS_CODE_HMAC_KEY is empty.", id="accounts.E001"))
    errors += _failure_wait_errors()
    if app_settings.CODE_LIFETIME.total_seconds() <= 0:
        errors.append(Error("ACCOUNTS_CODE_LIFETIME must be positive.", id="accounts.E003"))
    if not 0 < app_settings.MAX_CONSECUTIVE_FAILURES <= 100:
        errors.append(Error("ACCOUNTS_MAX_CONSECUTIVE_FAILURES must be 1–100 (NIST SP 800-63B-4).", id="accounts.E004"))
    keys = app_settings.DELIVERY_KEYS
    if not keys:
        errors.append(Error("ACCOUNTS_DELIVERY_KEYS is empty.", id="accounts.E005"))
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(Error("An ACCOUNTS_DELIVERY_KEYS entry is not a Fernet key.", id="accounts.E006"))
    errors += _rate_limit_errors()
    errors += _broker_visibility_errors()
    errors += _client_address_errors()
    return errors


# Settings merged into ACCOUNTS_RATE_LIMITS: still set, they would be silently ignored.
_RETIRED_RATE_SETTINGS = {
    "ACCOUNTS_ADMIN_LOGIN_RATES": "ACCOUNTS_RATE_LIMITS admin_login_username / admin_login_ip",
    "ACCOUNTS_ADMIN_OTP_RATES": "ACCOUNTS_RATE_LIMITS admin_otp_user / admin_otp_ip",
    # The doubling wait, now the table ACCOUNTS_FAILURE_WAITS.
    "ACCOUNTS_FAILURE_WAIT": "ACCOUNTS_FAILURE_WAITS",
    "ACCOUNTS_FAILURES_BEFORE_BACKOFF": "ACCOUNTS_FAILURE_WAITS",
    "ACCOUNTS_MAX_WAIT": "ACCOUNTS_FAILURE_WAITS",
}

# Reaching the lock (MAX_CONSECUTIVE_FAILURES) must take an attacker longer than this.
LOCK_NOT_WITHIN = datetime.timedelta(days=1)


def _failure_wait_errors() -> list[Error]:
    """FAILURE_WAITS is a table (from the n-th failure, wait) from n = 1 up, waits never
    shorter; and under it the lock cannot be reached within a day (one resident's typos never
    lock, and locking a resident out takes days of guessing)."""
    from .app_settings import app_settings
    from .services.verification import failures_possible_within

    table = app_settings.FAILURE_WAITS
    try:
        rows = [(int(n), wait) for n, wait in table]
        shaped = (
            rows
            and rows[0][0] == 1
            and all(isinstance(wait, datetime.timedelta) and wait.total_seconds() > 0 for _n, wait in rows)
            and all(a[0] < b[0] and a[1] <= b[1] for a, b in itertools.pairwise(rows))
        )
    except (TypeError, ValueError):
        shaped = False
    if not shaped:
        return [
            Error(
                "ACCOUNTS_FAILURE_WAITS must be rows (from the n-th failure, timedelta), n from 1 "
                "ascending, each wait positive and no shorter than the one before.",
                id="accounts.E002",
            )
        ]
    possible = failures_possible_within(LOCK_NOT_WITHIN)
    if possible >= app_settings.MAX_CONSECUTIVE_FAILURES:
        return [
            Error(
                f"ACCOUNTS_FAILURE_WAITS lets an attacker reach the lock ({possible} failures) within a day.",
                hint="Lengthen the later waits: locking a resident out must take days of guessing.",
                id="accounts.E013",
            )
        ]
    return []


def _rate_limit_errors() -> list[Error]:
    """Every rate of the table, and the SMS cap as a rate, parses (django-ratelimit would read
    "5/hr" as 5/h, and fail on "five/h" only at the first request); every key names a limit
    the site counts; no rate is set by a retired setting name."""
    from django.conf import settings

    from myspacecore.core.ratelimits import parse_rate

    from .app_settings import DEFAULT_RATE_LIMITS, app_settings

    if not isinstance(app_settings.RATE_LIMITS, dict):
        return [Error("ACCOUNTS_RATE_LIMITS must be a table of rates (a dict).", id="accounts.E008")]
    errors: list[Error] = []
    rates = {
        **{f"ACCOUNTS_RATE_LIMITS[{key!r}]": rate for key, rate in app_settings.RATE_LIMITS.items()},
        # Counted as a rate per hour of the whole site (accounts.ratelimits); 0 turns it off.
        "ACCOUNTS_SMS_GLOBAL_HOURLY_CAP": f"{app_settings.SMS_GLOBAL_HOURLY_CAP}/h",
    }
    for name, rate in rates.items():
        try:
            parse_rate(rate)
        except ValueError as exc:
            errors.append(Error(f"{name}: {exc}.", id="accounts.E008"))
    unknown = sorted(set(app_settings.RATE_LIMITS) - set(DEFAULT_RATE_LIMITS))
    if unknown:
        errors.append(
            Error(
                f"ACCOUNTS_RATE_LIMITS names no limit of the site: {', '.join(unknown)}.",
                hint=f"The limits are: {', '.join(DEFAULT_RATE_LIMITS)}.",
                id="accounts.E009",
            )
        )
    for name, keys in _RETIRED_RATE_SETTINGS.items():
        if hasattr(settings, name):
            hint = f"Set {keys} instead."
            errors.append(Error(f"{name} is no longer read.", hint=hint, id="accounts.E010"))
    return errors


def _broker_visibility_errors() -> list[Error]:
    """A Redis broker must not hand a code's delivery out again while a live worker still holds it.

    The longest hold is a retry waiting out its countdown (at most the longest of any task's
    retry policy, myspacecore.core.retry) and then running up to the hard time limit
    (acks_late). Past the visibility timeout kombu puts the message back on the queue, and a
    second worker would run it beside the first.
    """
    from django.conf import settings

    from myspacecore.core.retry import longest_countdown

    if not str(getattr(settings, "CELERY_BROKER_URL", "")).startswith(("redis://", "rediss://", "sentinel://")):
        return []
    time_limit = getattr(settings, "CELERY_TASK_TIME_LIMIT", None)
    if not time_limit:
        return [Error("CELERY_TASK_TIME_LIMIT must be set: acks_late tasks need a bounded run.", id="accounts.E007")]
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    visibility_timeout = options.get("visibility_timeout", 3600)  # kombu's default
    longest_hold = time_limit + longest_countdown()
    if visibility_timeout <= longest_hold:
        return [
            Error(
                f"CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] ({visibility_timeout} s) must be longer "
                f"than the longest retry countdown plus CELERY_TASK_TIME_LIMIT ({longest_hold} s): "
                "Redis would hand a task still held by a worker to another one.",
                id="accounts.E007",
            )
        ]
    return []


# Where the rate limits read the client's address from; any other value (a raw header name
# such as HTTP_X_FORWARDED_FOR) trusts what a client writes, and 500s on two hops.
CLIENT_IP_FUNCTION = "myspacecore.core.client_ip.client_ip"


def _client_address_errors() -> list[Error]:
    """The proxy settings parse, and django-ratelimit reads the address through them."""
    from django.conf import settings

    from myspacecore.core.client_ip import client_ip, proxy_settings_errors

    errors = [Error(message, id="accounts.E011") for message in proxy_settings_errors()]
    if getattr(settings, "RATELIMIT_IP_META_KEY", None) not in (CLIENT_IP_FUNCTION, client_ip):
        errors.append(
            Error(
                f"RATELIMIT_IP_META_KEY must be {CLIENT_IP_FUNCTION!r}.",
                hint="Behind a proxy set TRUSTED_PROXY_HOPS (or TRUSTED_PROXY_NETWORKS) instead.",
                id="accounts.E012",
            )
        )
    if "RATELIMIT_IP_META_KEY" in os.environ:
        # The variable the README once documented: still set, it would be silently ignored.
        errors.append(
            Error(
                "The environment variable RATELIMIT_IP_META_KEY is no longer read.",
                hint="Set TRUSTED_PROXY_HOPS (production: 1, one TLS proxy) or TRUSTED_PROXY_NETWORKS instead.",
                id="accounts.E012",
            )
        )
    return errors


@register()
def sms_circuit_settings_check(app_configs=None, **kwargs) -> list[Error]:
    """The SMS provider's circuit breaker (accounts.sms.circuit) and the code page's 'late' notice."""
    from django.conf import settings

    from .app_settings import app_settings

    errors: list[Error] = []
    for name in ("SMS_CIRCUIT_FAILURES", "SMS_CIRCUIT_WINDOW", "SMS_CIRCUIT_OPEN_SECONDS"):
        value = getattr(settings, name, None)
        if not isinstance(value, int) or value < 1:
            errors.append(Error(f"{name} must be a whole number of at least 1.", id="accounts.E020"))
    slow_after = app_settings.DELIVERY_SLOW_AFTER
    if not slow_after.total_seconds() > 0 or slow_after >= app_settings.CODE_LIFETIME:
        errors.append(
            Error(
                "ACCOUNTS_DELIVERY_SLOW_AFTER must be positive and shorter than the code lifetime.", id="accounts.E021"
            )
        )
    return errors
