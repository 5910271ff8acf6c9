"""Counting requests against rates on the shared cache (django-ratelimit), for every room.

A limited request raises RateLimited with the seconds until its window ends; the refusal
middleware turns that into the 429 page. When the cache itself cannot be reached a check
raises RateLimitUnavailable: the 503 page (the cache is the broker's Redis, so no code could
be queued either) instead of a redis error becoming a 500.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django_ratelimit.core import (
    EXPIRATION_FUDGE,
    _get_ip,
    _get_window,
    _make_cache_key,
    _split_rate,
    get_usage,
    rate_re,
)
from redis.exceptions import RedisError

from myspacecore.core.cache_clients import kept_redis_client, redis_call
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


def consume(
    request: HttpRequest, limits: list[tuple[str, str, object]], *, then: list[tuple[str, str, object]] | None = None
) -> None:
    """Count this request against each (group, rate, key); raise when any is over its rate.

    `then`: limits counted only when none of `limits` refuses (the site-wide SMS cap, which a
    flood refused by its own limits must not use up); on Redis in the same round trip. The
    RateLimited raised names the group whose window ends last (`group`), so the page can say
    which limit it was. Keys: see BY_IP.
    """
    then = then or []
    retry_after, limited_by = 0, ""
    try:
        usages = _usages_counted(request, limits, then)
    except RedisError as exc:
        raise RateLimitUnavailable(str(exc)) from exc
    for (group, _rate, _key_value), usage in zip([*limits, *then], usages, strict=True):
        if usage is not None and usage["should_limit"] and _window_left(usage) > retry_after:
            retry_after, limited_by = _window_left(usage), group
    if retry_after:
        raise RateLimited(retry_after=retry_after, group=limited_by)


def _usages_counted(
    request: HttpRequest, limits: list[tuple[str, str, object]], then: list[tuple[str, str, object]]
) -> list[dict | None]:
    """Count against every limit, then against `then` unless one refused (their usages None):
    django-ratelimit's `get_usage` each, or on Redis all in one round trip."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    if isinstance(cache, RedisCache) and getattr(settings, "RATELIMIT_ENABLE", True):
        return _usages_counted_on_redis(request, limits, then, cache)

    def counted(group: str, rate: str, key: object) -> dict | None:
        return get_usage(request, group=f"{GROUP_PREFIX}{group}", key=_key(key), rate=rate, increment=True)

    usages = [counted(*limit) for limit in limits]
    if any(usage is not None and usage["should_limit"] for usage in usages):
        return [*usages, *([None] * len(then))]
    return [*usages, *(counted(*limit) for limit in then)]


def _limit_value(request: HttpRequest, key: object) -> str:
    # What django-ratelimit counts under: for BY_IP the (masked) address it reads itself.
    return _get_ip(request) if key is BY_IP else str(key)


# Every limit's counter of a request: created at 0 with its window's expiry when new (SET NX EX,
# as django-ratelimit's `add`), then incremented (INCR), as get_usage(increment=True) does each;
# the counters after the first ARGV[1] only when none of those is over its limit (`then`). One
# script: atomic, as a MULTI/EXEC of the same commands, and one command to build and parse on
# our side instead of two per limit and the transaction's. KEYS: the counters; ARGV: how many
# come first, each counter's limit, each one's expiry in seconds. Returns the counts made.
_COUNT_SCRIPT = """
local first, n = tonumber(ARGV[1]), #KEYS
local counts = {}
for i = 1, n do
  if i == first + 1 then
    for j = 1, first do
      if counts[j] > tonumber(ARGV[1 + j]) then return counts end
    end
  end
  redis.call('SET', KEYS[i], 0, 'EX', ARGV[1 + n + i], 'NX')
  counts[i] = redis.call('INCR', KEYS[i])
end
return counts
"""


def _usages_counted_on_redis(
    request: HttpRequest,
    limits: list[tuple[str, str, object]],
    then: list[tuple[str, str, object]],
    cache: RedisCache,
) -> list[dict | None]:
    """`get_usage(increment=True)` for every limit (and `then`'s, unless one refused) in one
    round trip on a client kept per process.

    The same counters under the same keys (a window's key is django-ratelimit's, made into
    the cache's key), each created at 0 with its window's expiry when new and incremented
    (_COUNT_SCRIPT): the count and verdict get_usage gives, in one round trip instead of two
    or three per limit, each on a new client object.
    """
    keys, counts, expiries, windows = [], [], [], []
    for group, rate, key in [*limits, *then]:
        count, period = _split_rate(rate)
        value = _limit_value(request, key)
        window = _get_window(value, period)
        keys.append(cache.make_and_validate_key(_make_cache_key(f"{GROUP_PREFIX}{group}", window, rate, value, None)))
        counts.append(count)
        expiries.append(period + EXPIRATION_FUDGE)
        windows.append((count, window))
    made = _redis_client(cache).eval(_COUNT_SCRIPT, len(keys), *keys, len(limits), *counts, *expiries)
    now = int(time.time())
    return [
        {"count": made[i], "limit": count, "should_limit": made[i] > count, "time_left": window - now}
        if i < len(made)
        else None
        for i, (count, window) in enumerate(windows)
    ]


# One redis-py client per cache client (myspacecore.core.cache_clients): Django's RedisCache
# builds a new `redis.Redis` for every call, which costs more CPU than the round trip.
_redis_client = kept_redis_client


# Give back one count, never below zero, in one round trip.
_RELEASE_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]))
if count and count > 0 then return redis.call('DECR', KEYS[1]) end
return count
"""


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

    def not_given_back(exc: Exception) -> None:
        logger.warning("rate-limit count %s not given back: %s", group, type(exc).__name__)

    if isinstance(cache, RedisCache):
        # Nobody reads its answer: inside a `redis_calls_batched` block (a code's verify) it is
        # sent with the block's other writes.
        key = cache.make_and_validate_key(cache_key)
        try:
            kept = _redis_client(cache)
        except RedisError as exc:
            not_given_back(exc)
            return
        redis_call(kept, lambda client: client.eval(_RELEASE_SCRIPT, 1, key), on_error=not_given_back)
        return
    try:
        if (cache.get(cache_key) or 0) > 0:
            cache.decr(cache_key)
    except ValueError:
        pass  # the window ended meanwhile: nothing left to give back
    except RedisError as exc:
        not_given_back(exc)


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
