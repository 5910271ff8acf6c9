"""The code flows' rate limits: per target, per account, per client address, and the site's SMS ceiling.

Rates come from `app_settings.RATE_LIMITS`; SMS sends also count against the site-wide
`SMS_GLOBAL_HOURLY_CAP` (SMS pumping). Counting is `myspacecore.core.ratelimits`. The
guessing limit (one try per code, the wait after failures) is not here: it lives in the
database, with each target's row (accounts.services.verification).

Per client address there are two limits, because one address may be a whole building's
Wi-Fi or a carrier's CGNAT: every send counts against `code_send_ip` (a ceiling only an
attack reaches), and codes sent from the address and not yet used count against
`code_send_ip_unverified`. A code used (verified) from the address gives its place back, so
neighbours who use their codes keep the address open, while an address spraying numbers,
whose codes are never used, is stopped at the soft limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from myspacecore.core.exceptions import RateLimited
from myspacecore.core.ratelimits import BY_IP, consume, parse_rate, release
from myspacecore.core.timestamps import duration_text

from .app_settings import app_settings

if TYPE_CHECKING:  # the admin site imports this module before the models are ready
    from django.utils.functional import _StrPromise

    from .models import User

# Why a code flow's request was refused, in the resident's words (the 429 page says it);
# %(limit)s reads "1時間に10回".
LIMIT_REASONS: dict[str, _StrPromise] = {
    "code_send_target": _("同じ送信先への認証コードの送信が%(limit)sを超えたため"),
    "code_send_account": _("このアカウントからの認証コードの送信が%(limit)sを超えたため"),
    "code_send_ip_unverified": _("この回線（IPアドレス）から送信された認証コードの多くが、まだ使われていないため"),
    "code_send_ip": _("この回線（IPアドレス）からの認証コードの送信が%(limit)sを超えたため"),
    "code_verify_account": _("認証コードの確認が%(limit)sを超えたため"),
    "code_verify_ip": _("この回線（IPアドレス）からの認証コードの確認が%(limit)sを超えたため"),
    "sms_global": _("ただいま SMS の送信が大変混み合っているため"),
}


def _limit_text(rate: str) -> str:
    count, seconds = parse_rate(rate)
    return _("%(period)sに%(count)d回") % {"period": duration_text(seconds), "count": count}


def _consume(
    request: HttpRequest, limits: list[tuple[str, str, object]], *, then: list[tuple[str, str, object]] | None = None
) -> None:
    """Count against `limits` (and `then`, see `consume`); a refusal names its limit in the resident's words."""
    try:
        consume(request, limits, then=then)
    except RateLimited as exc:
        rate = {group: rate for group, rate, _key in [*limits, *(then or [])]}[exc.group]
        reason = str(LIMIT_REASONS[exc.group]) % {"limit": _limit_text(rate)}
        raise RateLimited(retry_after=exc.retry_after, group=exc.group, reason=reason) from exc


def check_code_send(request: HttpRequest, *, target: str, user: User | None = None, sms: bool | None = None) -> None:
    """Before issuing a code: per target, per account (when signed in) and per address; plus the SMS cap.

    `sms` says whether the code goes by SMS; by default, unless the target is an address.
    """
    if sms is None:
        sms = "@" not in target
    rates = app_settings.RATE_LIMITS
    limits = [
        ("code_send_target", rates["code_send_target"], target),
        ("code_send_ip", rates["code_send_ip"], BY_IP),
        ("code_send_ip_unverified", rates["code_send_ip_unverified"], BY_IP),
    ]
    if user is not None and user.pk is not None:
        limits.append(("code_send_account", rates["code_send_account"], str(user.pk)))
    cap = app_settings.SMS_GLOBAL_HOURLY_CAP
    # Counted only for sends that passed the other limits, so a flood from one IP cannot use
    # up the whole site's allowance (in the same round trip on Redis).
    site_cap: list[tuple[str, str, object]] = [("sms_global", f"{cap}/h", "all")] if sms and cap else []
    try:
        _consume(request, limits, then=site_cap)
    except RateLimited:
        code_not_sent_from(request)  # a refusal is no unused code: retrying never digs deeper
        raise


def check_code_verify(request: HttpRequest, *, user: User | None = None, target: str | None = None) -> None:
    """Before checking a code: per account (the signed-in user, else the target being proved) and per address."""
    rates = app_settings.RATE_LIMITS
    limits = [("code_verify_ip", rates["code_verify_ip"], BY_IP)]
    account = str(user.pk) if user is not None and user.pk is not None else target
    if account:
        limits.append(("code_verify_account", rates["code_verify_account"], account))
    _consume(request, limits)


def _unverified_place_give_back(request: HttpRequest) -> None:
    rate = app_settings.RATE_LIMITS["code_send_ip_unverified"]
    release(request, group="code_send_ip_unverified", rate=rate, key=BY_IP)


def code_used_from(request: HttpRequest) -> None:
    """A code was used (verified) from this request's address: it gives back its place under
    `code_send_ip_unverified`, so residents behind one address who use their codes never meet it."""
    _unverified_place_give_back(request)


def code_not_sent_from(request: HttpRequest) -> None:
    """A send counted by check_code_send was refused after all (a wait, a lock, the broker down,
    another limit): no code went out, so it takes no place under `code_send_ip_unverified`."""
    _unverified_place_give_back(request)
