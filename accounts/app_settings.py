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
    # Codes issued per target (number or address) and per signed-in account. The guessing
    # limit is FAILURE_WAITS (in the database); these keep a number from being flooded with
    # SMS: a resident with five typos needs six codes in a few minutes.
    "code_send_target": "10/h",
    "code_send_account": "10/h",
    # Per client address: a building's Wi-Fi or a carrier's CGNAT is one address for hundreds
    # of residents (README, "Residents behind one address"). Codes sent from one address and
    # not (yet) used are held to the soft limit; a send beyond it waits until enough of the
    # address's codes are used or the window ends. The hard limit stops any address.
    "code_send_ip_unverified": "100/h",
    "code_send_ip": "1000/h",
    # Codes checked per account (else the target being proved), per address.
    "code_verify_account": "20/h",
    "code_verify_ip": "1200/h",
    # Failed admin sign-ins (accounts.services.staff_signin); once one is over, the sign-in
    # answers 429 without checking the password until its window ends. Per username from one
    # address first, so a guesser elsewhere never locks the staff member out of theirs; per
    # IP whatever the username; per username from all addresses (credential stuffing), for
    # browsers that never signed in as that staff member only.
    "admin_login_ip_username": "5/15m",
    "admin_login_ip": "20/15m",
    "admin_login_username": "10/15m",
    # At most one e-mail to the staff member per window of throttled sign-ins.
    "admin_login_notice": "1/15m",
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

# The wait after a wrong or expired code, by the count of consecutive failures of the target
# (a success resets it): (from the n-th failure, wait), n ascending from 1, waits never
# shorter. One try per code stays the rule, so each guess costs a code and a wait:
# - 1st-5th: 30 s, the help article's wait. Five typos in a row, then the right code: signed
#   in about a minute after the fifth typo.
# - 6th-10th: 1 min, 11th-20th: 5 min, still a person struggling with a code.
# - 21st-40th: 15 min, then 1 hour: nobody types 20 wrong codes in a row.
# An attacker who asks for each code the moment the wait ends gets 59 guesses in the first
# 24 hours and reaches the lock (MAX_CONSECUTIVE_FAILURES) after 65 hours; NIST SP
# 800-63B-4 allows 100. accounts.checks refuses a table under which the lock could be reached
# within a day (E013): locking a resident out must take a determined attacker days.
DEFAULT_FAILURE_WAITS: tuple[tuple[int, datetime.timedelta], ...] = (
    (1, datetime.timedelta(seconds=30)),
    (6, datetime.timedelta(minutes=1)),
    (11, datetime.timedelta(minutes=5)),
    (21, datetime.timedelta(minutes=15)),
    (41, datetime.timedelta(hours=1)),
)

_DEFAULTS: dict[str, object] = {
    # A code is valid this long after it is issued (SPEC: 5 minutes).
    "CODE_LIFETIME": datetime.timedelta(minutes=5),
    # After a wrong or expired code, no new code for the target for a while: FAILURE_WAITS
    # below, by the count of consecutive failures.
    "FAILURE_WAITS": DEFAULT_FAILURE_WAITS,
    # Between two codes for one target even without a failure (resend).
    "RESEND_WAIT": datetime.timedelta(seconds=30),
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
