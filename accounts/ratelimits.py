"""The code flows' rate limits: per target, per account, per IP, and the site's SMS ceiling.

Rates come from `app_settings.RATE_LIMITS`; SMS sends also count against the site-wide
`SMS_GLOBAL_HOURLY_CAP` (SMS pumping). Counting is `myspacecore.core.ratelimits`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

from myspacecore.core.ratelimits import BY_IP, consume

from .app_settings import app_settings

if TYPE_CHECKING:  # the admin site imports this module before the models are ready
    from .models import User


def check_code_send(
    request: HttpRequest, *, target: str, user: User | None = None, sms: bool | None = None
) -> None:
    """Before issuing a code: per target, per account (when signed in) and per IP; plus the SMS cap.

    `sms` says whether the code goes by SMS; by default, unless the target is an address.
    """
    if sms is None:
        sms = "@" not in target
    rates = app_settings.RATE_LIMITS
    limits = [
        ("code_send_target", rates["code_send_target"], target),
        ("code_send_ip", rates["code_send_ip"], BY_IP),
    ]
    if user is not None and user.pk is not None:
        limits.append(("code_send_account", rates["code_send_account"], str(user.pk)))
    consume(request, limits)
    cap = app_settings.SMS_GLOBAL_HOURLY_CAP
    if sms and cap:
        # Counted only for sends that passed the other limits, so a flood from one IP
        # cannot use up the whole site's allowance.
        consume(request, [("sms_global", f"{cap}/h", "all")])


def check_code_verify(request: HttpRequest, *, user: User | None = None, target: str | None = None) -> None:
    """Before checking a code: per account (the signed-in user, else the target being proved) and per IP."""
    rates = app_settings.RATE_LIMITS
    limits = [("code_verify_ip", rates["code_verify_ip"], BY_IP)]
    account = str(user.pk) if user is not None and user.pk is not None else target
    if account:
        limits.append(("code_verify_account", rates["code_verify_account"], account))
    consume(request, limits)
