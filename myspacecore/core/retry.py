"""How Celery tasks retry transient errors: one policy per kind of task, as data.

A countdown is Celery's own exponential backoff (`retry_backoff`): `backoff`, then twice
that at each retry, capped at `backoff_max`, with Celery's full jitter when `jitter` is
set. A task whose retries need no bookkeeping declares Celery's options from its policy
(`@shared_task(autoretry_for=..., **policy.task_options())`); one that must record a
failure when they run out calls `retry_or_give_up`. The broker check (accounts.E007)
reads `longest_countdown()`: a Redis broker must not hand out again a task still waiting.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    backoff: int  # seconds before the first retry; doubled for each one after
    backoff_max: int  # the cap of any one countdown
    max_retries: int  # then the task gives up (records a failure, or Celery raises the error)
    jitter: bool = False  # a random countdown between 0 and the computed one (spreads a burst)

    def countdown(self, retries: int) -> int:
        """Seconds to wait before retry number `retries + 1` (`retries` is `task.request.retries`)."""
        # Here, not at the top: the broker check imports this module at every start-up,
        # management commands included, and Celery itself is only needed by a task.
        from celery.utils.time import get_exponential_backoff_interval

        return get_exponential_backoff_interval(
            factor=self.backoff, retries=retries, maximum=self.backoff_max, full_jitter=self.jitter
        )

    def task_options(self) -> dict[str, object]:
        """The policy as Celery task options, next to `autoretry_for` (the errors to retry)."""
        return {
            "retry_backoff": self.backoff,
            "retry_backoff_max": self.backoff_max,
            "retry_jitter": self.jitter,
            "max_retries": self.max_retries,
        }


# A code's delivery: a resident is waiting for it, so short and regular waits (2, 4, 8, 16,
# 32 s), then the delivery is recorded FAILED. ACCOUNTS_DELIVERY_MAX_RETRIES may change the
# number of retries (accounts.app_settings).
CODE_DELIVERY = "code_delivery"
# A notice after a change (old number, old address): nobody waits, sending twice is
# harmless; jitter spreads a provider outage's backlog (0–1, 0–2, … 0–16 s).
NOTICE = "notice"
# The purge of an account's device settings: 2, 4 … 32 s, then the request is marked FAILED
# for `manage.py cleanup_purge_requests`.
SETTINGS_PURGE = "settings_purge"
# A channel's desired state to a broker that is down: 2, 4 … 256 s (jittered: a broker's return
# meets a spread backlog), then the devices show "hub offline"; the lag sweep publishes later.
DEVICE_PUBLISH = "device_publish"

RETRY_POLICIES: dict[str, RetryPolicy] = {
    CODE_DELIVERY: RetryPolicy(backoff=2, backoff_max=300, max_retries=5),
    NOTICE: RetryPolicy(backoff=1, backoff_max=300, max_retries=5, jitter=True),
    SETTINGS_PURGE: RetryPolicy(backoff=2, backoff_max=300, max_retries=5),
    DEVICE_PUBLISH: RetryPolicy(backoff=2, backoff_max=300, max_retries=8, jitter=True),
}


def longest_countdown() -> int:
    """The longest any task of any policy waits before a retry, whatever its number of retries."""
    return max(policy.backoff_max for policy in RETRY_POLICIES.values())


def retry_or_give_up(
    task,
    exc: BaseException,
    *,
    policy: RetryPolicy,
    what: str,
    logger: logging.Logger,
    give_up: Callable[[], T] | None = None,
):
    """Retry bound `task` after `exc` on `policy`'s countdown; once its retries have run out,
    return `give_up()` (e.g. record the row FAILED), or without `give_up` let Celery raise `exc`.

    `what` names the work in the warning logged for each retry (masked: it is a log line).
    On a worker `task.retry` raises Retry; run eagerly (tests, local development) it returns
    the retry, which Celery applies at once, without the countdown.
    """
    retries = task.request.retries
    if give_up is not None and retries >= policy.max_retries:
        return give_up()
    countdown = policy.countdown(retries)
    logger.warning("%s: %s, retry %s in %s s", what, type(exc).__name__, retries + 1, countdown)
    return task.retry(exc=exc, countdown=countdown, max_retries=policy.max_retries, throw=not task.request.is_eager)
