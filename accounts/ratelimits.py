"""Rate limits of every code flow, on the shared cache (django-ratelimit), declared in one place.

Rates come from `app_settings.RATE_LIMITS`; SMS sends also count against the site-wide
`SMS_GLOBAL_HOURLY_CAP` (SMS pumping). A limited request raises RateLimited with the
seconds until its window ends; views turn that into the 429 page. When the cache itself
cannot be reached every check raises RateLimitUnavailable: views answer the 503 page (the
cache is the broker's Redis, so no code could be queued either) instead of letting a redis
error become a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from .app_settings import app_settings

if TYPE_CHECKING:  # the admin site imports this module before the models are ready
    from .models import User

# Used when the cache cannot say how long is left (it failed: django-ratelimit then limits).
FALLBACK_RETRY_AFTER = 60


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimitUnavailable(Exception):
    """The limits' store could not be reached: nothing was counted, the request must not go on."""


# A limit is (group, rate, key). The key is BY_IP (the client's address, as django-ratelimit
# reads it) or any other value, counted as one constant key (a target, an account, a username):
# a sentinel, so that no such value (a staff member named "ip") is ever read as the address.
BY_IP = object()


def _key(key: object):
    if key is BY_IP:
        return "ip"
    value = str(key)
    return lambda group, request: value


def _consume(request: HttpRequest, limits: list[tuple[str, str, object]]) -> None:
    """Count this request against each (group, rate, key); raise when any is over its rate.

    Keys: see BY_IP.
    """
    retry_after = 0
    for group, rate, key in limits:
        try:
            usage = get_usage(request, group=f"accounts.{group}", key=_key(key), rate=rate, increment=True)
        except RedisError as exc:
            raise RateLimitUnavailable(str(exc)) from exc
        if usage is not None and usage["should_limit"]:
            retry_after = max(retry_after, _window_left(usage))
    if retry_after:
        raise RateLimited(retry_after=retry_after)


def failures_retry_after(request: HttpRequest, limits: list[tuple[str, str, object]], *, increment: bool) -> int:
    """Failures counted after the fact (admin sign-ins, admin tokens): count this POST against
    each (group, rate, key) when `increment`, else only look. Seconds until the longest full
    window ends, 0 when none is full. Keys: see BY_IP."""
    retry_after = 0
    for group, rate, key in limits:
        usage = get_usage(
            request, group=f"accounts.{group}", key=_key(key), rate=rate, method="POST", increment=increment
        )
        # Looking without counting: the window is full once the count has reached the limit.
        limited = usage is not None and (usage["should_limit"] if increment else usage["count"] >= usage["limit"])
        if limited:
            retry_after = max(retry_after, _window_left(usage))
    return retry_after


def _window_left(usage: dict) -> int:
    # 0 or less when the cache could not say: then a fixed wait.
    return usage["time_left"] if usage["time_left"] > 0 else FALLBACK_RETRY_AFTER


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
    _consume(request, limits)
    cap = app_settings.SMS_GLOBAL_HOURLY_CAP
    if sms and cap:
        # Counted only for sends that passed the other limits, so a flood from one IP
        # cannot use up the whole site's allowance.
        _consume(request, [("sms_global", f"{cap}/h", "all")])


def check_code_verify(request: HttpRequest, *, user: User | None = None, target: str | None = None) -> None:
    """Before checking a code: per account (the signed-in user, else the target being proved) and per IP."""
    rates = app_settings.RATE_LIMITS
    limits = [("code_verify_ip", rates["code_verify_ip"], BY_IP)]
    account = str(user.pk) if user is not None and user.pk is not None else target
    if account:
        limits.append(("code_verify_account", rates["code_verify_account"], account))
    _consume(request, limits)
