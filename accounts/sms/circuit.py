"""A circuit breaker in front of the SMS provider, its state in the shared cache (Redis in
production), so every worker stops calling a provider that keeps failing.

Closed: every send goes to the provider; its transient failures (5xx, 429, timeouts, lost
connections: SmsTransientError, OSError) are counted in a window of SMS_CIRCUIT_WINDOW
seconds, and a success clears the count. At SMS_CIRCUIT_FAILURES failures the circuit opens:
for SMS_CIRCUIT_OPEN_SECONDS no send reaches the provider, each fails at once with
SmsUnavailable (its `retry_after` says when to try again), so a hanging provider no longer
holds every pool child for SMS_TIMEOUT per code. Then it is half-open: one send, from one
worker (the trial is taken with an atomic `add`), decides: a success closes it, a failure
opens it again. A refusal of one message (SmsPermanentError: a bad number) says nothing
about the provider and is not counted.

pybreaker (1.4) was the other choice: its Redis storage moves between states with separate
reads and writes (two workers may both open, or both half-open, it) and lets every caller
through while half-open, so a hanging provider would again take every worker at each trial.

When the cache itself cannot be reached the circuit reads as closed: the provider is called
as it was without one (and during a Redis outage the broker is down too, no task runs).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from .backends.base import SmsPermanentError, SmsTransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")

_FAILURES = "sms.circuit.failures"
# When the window of the counted failures began, by our clock: the window is the key's expiry
# in the store, and also holds where the store's clock and ours part (a test that moves time).
_FAILURES_SINCE = "sms.circuit.failures_since"
# When the open circuit lets a trial through (epoch seconds); absent while closed.
_OPEN_UNTIL = "sms.circuit.open_until"
_TRIAL = "sms.circuit.trial"


class SmsUnavailable(SmsTransientError):
    """The circuit is open: the provider was not called. Try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"SMS provider circuit open, retry after {retry_after} s")
        self.retry_after = retry_after


def _cache_call(method: str, *args, **kwargs):
    try:
        return getattr(cache, method)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an unreachable state store must not stop a send
        logger.warning("SMS circuit state unavailable (%s); calling the provider", type(exc).__name__)
        return None


def _open_seconds() -> int:
    return int(settings.SMS_CIRCUIT_OPEN_SECONDS)


def _keep_seconds() -> int:
    # The open state outlives its own window, so a trial is still needed after a quiet spell.
    return _open_seconds() * 10 + int(settings.SMS_CIRCUIT_WINDOW)


def retry_after() -> int:
    """Seconds until the provider is tried again; 0 while the circuit is closed or half-open."""
    open_until = _cache_call("get", _OPEN_UNTIL)
    if open_until is None:
        return 0
    return max(0, math.ceil(open_until - time.time()))


def _before_call() -> tuple[bool, bool]:
    """Raise SmsUnavailable while open; return (whether this call is the half-open trial, whether
    failures are being counted). One read of the state for both."""
    state = _cache_call("get_many", [_OPEN_UNTIL, _FAILURES, _FAILURES_SINCE]) or {}
    counting = _FAILURES in state or _FAILURES_SINCE in state
    open_until = state.get(_OPEN_UNTIL)
    if open_until is None:
        return False, counting
    now = time.time()
    if now < open_until:
        raise SmsUnavailable(math.ceil(open_until - now))
    # Half-open: one trial at a time, held at most as long as a call may take.
    if not _cache_call("add", _TRIAL, 1, timeout=math.ceil(settings.SMS_TIMEOUT) + 5):
        raise SmsUnavailable(math.ceil(settings.SMS_TIMEOUT))
    return True, counting


def _failure_count(*, now: float, window: int) -> int | None:
    """Count one failure in the window that began with the first of them; the new count."""
    since = _cache_call("get", _FAILURES_SINCE)
    if since is not None and now - since >= window:
        _cache_call("delete_many", [_FAILURES, _FAILURES_SINCE])
    _cache_call("add", _FAILURES_SINCE, now, timeout=window)
    _cache_call("add", _FAILURES, 0, timeout=window)
    return _cache_call("incr", _FAILURES)


def _open(now: float) -> None:
    _cache_call("set", _OPEN_UNTIL, now + _open_seconds(), timeout=_keep_seconds())
    _cache_call("delete_many", [_FAILURES, _FAILURES_SINCE, _TRIAL])


def _failed(*, trial: bool, exc: BaseException) -> None:
    if trial:
        logger.warning("SMS provider still failing (%s): circuit open again", type(exc).__name__)
        _open(time.time())
        return
    window = int(settings.SMS_CIRCUIT_WINDOW)
    failures = _failure_count(now=time.time(), window=window)
    if failures is not None and failures >= settings.SMS_CIRCUIT_FAILURES:
        logger.warning(
            "SMS provider failed %s times within %s s (%s): circuit open for %s s",
            failures,
            window,
            type(exc).__name__,
            _open_seconds(),
        )
        _open(time.time())


def _succeeded(*, trial: bool, counting: bool) -> None:
    if trial:
        logger.warning("SMS provider answered again: circuit closed")
        _cache_call("delete_many", [_OPEN_UNTIL, _TRIAL, _FAILURES, _FAILURES_SINCE])
    elif counting:  # a success clears the count; with none counted there is nothing to write
        _cache_call("delete_many", [_FAILURES, _FAILURES_SINCE])


def guarded(call: Callable[[], T]) -> T:
    """Run `call` (one provider call) through the circuit; raise SmsUnavailable while it is open."""
    trial, counting = _before_call()
    try:
        result = call()
    except SmsPermanentError:
        _succeeded(trial=trial, counting=counting)  # the provider answered: it is up
        raise
    except (SmsTransientError, OSError) as exc:
        _failed(trial=trial, exc=exc)
        raise
    except BaseException:
        if trial:
            _cache_call("delete", _TRIAL)
        raise
    _succeeded(trial=trial, counting=counting)
    return result


def reset() -> None:
    """Close the circuit (tests, or staff after fixing the provider's credentials)."""
    _cache_call("delete_many", [_OPEN_UNTIL, _TRIAL, _FAILURES, _FAILURES_SINCE])
