"""The accounts app's tunables, read through one object with documented defaults.

Override any of them in Django settings with the `ACCOUNTS_` prefix, e.g.
`ACCOUNTS_CODE_LIFETIME = timedelta(minutes=10)`; a table (the rates) overrides only the
keys it names. `accounts.checks` rejects impossible combinations at start-up.
"""

from __future__ import annotations

import datetime

from myspacecore.core.app_settings import AppSettings
from myspacecore.core.retry import CODE_DELIVERY, RETRY_POLICIES

# Every rate limit of the site, in django-ratelimit notation: "count/period", the period
# s, m, h or d, optionally a multiple of it ("5/15m"). A key is its counter's group (cache
# keys `accounts.<key>`). Override only the keys to change, e.g.
# `ACCOUNTS_RATE_LIMITS = {"code_send_ip": "50/h"}`; accounts.checks refuses a rate that
# does not parse (E008) and a key that no limit reads (E009).
DEFAULT_RATE_LIMITS: dict[str, str] = {
    # Codes issued per target (number or address), per signed-in account, per IP.
    "code_send_target": "5/h",
    "code_send_account": "10/h",
    "code_send_ip": "20/h",
    # Codes checked per account (else the target being proved), per IP.
    "code_verify_account": "20/h",
    "code_verify_ip": "60/h",
    # Failed admin sign-ins per username and per IP; once over, the sign-in answers 429
    # without checking the password until the window ends.
    "admin_login_username": "5/15m",
    "admin_login_ip": "20/15m",
    # Failed admin tokens per staff account and per IP, counted like failed admin sign-ins.
    "admin_otp_user": "5/15m",
    "admin_otp_ip": "20/15m",
    # Help centre "Was this helpful?" answers per IP: enough for a household reading
    # several pages, too few to flood the table.
    "help_feedback": "10/h",
    # The code page's delivery status, asked by site.js while an SMS is on its way, per
    # session: its polls of five codes an hour fit; a runaway script does not.
    "code_status": "300/h",
}

_DEFAULTS: dict[str, object] = {
    # A code is valid this long after it is issued (SPEC: 5 minutes).
    "CODE_LIFETIME": datetime.timedelta(minutes=5),
    # After a wrong or expired code, no new code for the target for this long.
    "FAILURE_WAIT": datetime.timedelta(seconds=30),
    # Between two codes for one target even without a failure (resend).
    "RESEND_WAIT": datetime.timedelta(seconds=30),
    # After this many consecutive failures the wait doubles each time...
    "FAILURES_BEFORE_BACKOFF": 5,
    # ...up to this ceiling.
    "MAX_WAIT": datetime.timedelta(hours=1),
    # NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failures, then staff must unlock.
    "MAX_CONSECUTIVE_FAILURES": 100,
    # Delivery retries on transient provider errors; the backoff is the code delivery policy's
    # (myspacecore.core.retry), and so is this default.
    "DELIVERY_MAX_RETRIES": RETRY_POLICIES[CODE_DELIVERY].max_retries,
    # A code still not sent this long after it was issued: the code page says the SMS is late
    # and what the resident can do (accounts.selectors.verification_code_progress).
    "DELIVERY_SLOW_AFTER": datetime.timedelta(seconds=20),
    # Every rate limit of the site: DEFAULT_RATE_LIMITS above.
    "RATE_LIMITS": DEFAULT_RATE_LIMITS,
    # Ceiling of SMS sent by the whole site per hour (SMS pumping), 0 = no ceiling. A count,
    # not a rate: deployments set it from the environment (settings.base), benchmarks raise it.
    "SMS_GLOBAL_HOURLY_CAP": 1000,
    # Key of the HMAC that stores codes; falls back to nothing (checks.py refuses that).
    "CODE_HMAC_KEY": "",
    # Fernet keys (newest first) that seal a code inside its delivery task message.
    "DELIVERY_KEYS": [],
    # Admin second factor (django-otp TOTP): staff in these groups must enrol before any
    # admin page, and enter a token at each sign-in. Production: ["operator_admin"].
    "ADMIN_OTP_REQUIRED_GROUPS": [],
    # ...and platform staff (superusers) as well when true (production).
    "ADMIN_OTP_REQUIRE_SUPERUSERS": False,
}


app_settings = AppSettings("ACCOUNTS", _DEFAULTS)
