"""Bench-only tasks, loaded by the bench worker (`--include bench.tasks`)."""

from __future__ import annotations

import time

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def noop() -> None:
    """The baseline of a task: same broker round trip and acks as a delivery, no work.

    Records its first and last run times and a count in Redis (bench db): the drain rate
    and the end of the drain are read from them.
    """
    from django.core.cache import cache

    now = time.time()
    cache.add("bench:noop:first", now, None)
    cache.set("bench:noop:last", now, None)
    cache.incr("bench:noop:count")
