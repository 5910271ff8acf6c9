"""Counting requests against rates on the shared cache (django-ratelimit), for every room.

A limited request raises RateLimited with the seconds until its window ends; the refusal
middleware turns that into the 429 page. When the cache itself cannot be reached a check
raises RateLimitUnavailable: the 503 page (the cache is the broker's Redis, so no code could
be queued either) instead of a redis error becoming a 500.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django_ratelimit.core import _get_window, _make_cache_key, _split_rate, get_usage, rate_re
from redis.exceptions import RedisError

from myspacecore.core.client_ip import client_ip_for_limits
from myspacecore.core.exceptions import RateLimited, ServiceUnavailable

logger = logging.getLogger(__name__)

# Used when the cache cannot say how long is left (it failed: django-ratelimit then limits).
FALLBACK_RETRY_AFTER = 60


class RateLimitUnavailable(ServiceUnavailable):
    """The limits' store could not be reached: nothing was counted, the request must not go on."""


# A limit is (group, rate, key). The key is BY_IP (the client's address, as django-ratelimit
# reads it through myspacecore.core.client_ip, IPv6 per /64) or any other value, counted as
# one constant key (a target, an account, a username): a sentinel, so that no such value (a
# staff member named "ip") is ever read as the address.
BY_IP = object()

# Every counter's cache key starts with this (kept from when all limits lived in accounts:
# renaming it would reset every counter at the deploy).
GROUP_PREFIX = "accounts."


def parse_rate(rate: str) -> tuple[int, int]:
    """(count, seconds) of a rate such as "5/15m", read by django-ratelimit's own parser.

    Stricter about the text than django-ratelimit, which reads only the front of the string
    ("5/hr" as 5/h, "5/" as 5 a second): the whole text must be a rate with its period.
    ValueError when it is not.
    """
    match = rate_re.fullmatch(rate) if isinstance(rate, str) else None
    if match is None or match.group(3) is None:
        raise ValueError(f"{rate!r} is not a rate such as '5/h' or '20/15m' (periods: s, m, h, d)")
    count, seconds = _split_rate(rate)
    if seconds <= 0:
        raise ValueError(f"{rate!r} has an empty window")
    return count, seconds


def _key(key: object):
    if key is BY_IP:
        return "ip"
    value = str(key)
    return lambda group, request: value


def consume(request: HttpRequest, limits: list[tuple[str, str, object]]) -> None:
    """Count this request against each (group, rate, key); raise when any is over its rate.

    The RateLimited raised names the group whose window ends last (`group`), so the page can
    say which limit it was. Keys: see BY_IP.
    """
    retry_after, limited_by = 0, ""
    for group, rate, key in limits:
        try:
            usage = get_usage(request, group=f"{GROUP_PREFIX}{group}", key=_key(key), rate=rate, increment=True)
        except RedisError as exc:
            raise RateLimitUnavailable(str(exc)) from exc
        if usage is not None and usage["should_limit"] and _window_left(usage) > retry_after:
            retry_after, limited_by = _window_left(usage), group
    if retry_after:
        raise RateLimited(retry_after=retry_after, group=limited_by)


def release(request: HttpRequest, *, group: str, rate: str, key: object) -> None:
    """Give back one count of (group, rate, key) in its current window, never below zero: a
    count of things still open (codes sent and not yet used) rather than of requests.

    Best effort: it runs after the request's real work (a code already used), which a cache
    that cannot be reached must not undo; the place then stays taken until the window ends.
    """
    _count, period = _split_rate(rate)
    # The value django-ratelimit counted under: for BY_IP the same masked address it reads.
    value = client_ip_for_limits(request) if key is BY_IP else str(key)
    cache_key = _make_cache_key(f"{GROUP_PREFIX}{group}", _get_window(value, period), rate, value, None)
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    try:
        if (cache.get(cache_key) or 0) > 0:
            cache.decr(cache_key)
    except ValueError:
        pass  # the window ended meanwhile: nothing left to give back
    except RedisError as exc:
        logger.warning("rate-limit count %s not given back: %s", group, type(exc).__name__)


def failures_retry_after(request: HttpRequest, limits: list[tuple[str, str, object]], *, increment: bool) -> int:
    """Failures counted after the fact (admin sign-ins, admin tokens): count this POST against
    each (group, rate, key) when `increment`, else only look. Seconds until the longest full
    window ends, 0 when none is full. Keys: see BY_IP."""
    retry_after = 0
    for group, rate, key in limits:
        usage = get_usage(
            request, group=f"{GROUP_PREFIX}{group}", key=_key(key), rate=rate, method="POST", increment=increment
        )
        # Looking without counting: the window is full once the count has reached the limit.
        limited = usage is not None and (usage["should_limit"] if increment else usage["count"] >= usage["limit"])
        if limited:
            retry_after = max(retry_after, _window_left(usage))
    return retry_after


def _window_left(usage: dict) -> int:
    # 0 or less when the cache could not say: then a fixed wait.
    return usage["time_left"] if usage["time_left"] > 0 else FALLBACK_RETRY_AFTER
