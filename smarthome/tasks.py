"""Celery tasks of the smarthome app: thin interfaces to the services (the purge, the move-out sweep)."""

from __future__ import annotations

import functools
import logging

from celery import shared_task

import myspacecore.celery  # noqa: F401  (@shared_task binds to the project's app: myspacecore/__init__.py)
from myspacecore.core.retry import RETRY_POLICIES, SETTINGS_PURGE, retry_or_give_up

logger = logging.getLogger(__name__)

PURGE_RETRY = RETRY_POLICIES[SETTINGS_PURGE]
# Sweeps may run long on a first run over a big table; cut short they just lose one batch.
SWEEP_SOFT_TIME_LIMIT = 25 * 60
SWEEP_TIME_LIMIT = 30 * 60


def _transient_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError

    from smarthome.services import PurgeRequestBusy

    # Lost connection, deadlock, lock timeout, or another process on the same request.
    return (OperationalError, InterfaceError, PurgeRequestBusy)


@shared_task(
    bind=True,
    name="smarthome.settings_purge_request_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def settings_purge_request_run(self, purge_request_id: int) -> str:
    """Work off purge request `purge_request_id` (enqueued when an account deletion commits).

    Idempotent, so `acks_late` and redelivery after a lost worker are safe: the purge is
    one transaction, a killed worker leaves it pending, and a done request is skipped.
    Transient errors are retried on the settings purge policy (myspacecore.core.retry), then
    the request is marked FAILED for `manage.py cleanup_purge_requests`. Returns the outcome.
    """
    from smarthome.services import settings_purge_request_process

    try:
        purge_request = settings_purge_request_process(purge_request_id=purge_request_id)
    except _transient_errors() as exc:
        return retry_or_give_up(
            self,
            exc,
            policy=PURGE_RETRY,
            what=f"settings purge request #{purge_request_id}",
            logger=logger,
            give_up=functools.partial(_purge_request_failed, purge_request_id, exc),
        )
    except Exception as exc:  # a bug or bad data: record it; the sweep tries again later
        logger.exception("settings purge request #%s failed", purge_request_id)
        return _purge_request_failed(purge_request_id, exc)
    if purge_request is None:
        return "missing"
    return "done"


def _purge_request_failed(purge_request_id: int, exc: BaseException) -> str:
    from smarthome.services import settings_purge_request_fail

    settings_purge_request_fail(purge_request_id=purge_request_id, error=exc)
    return "failed"


@shared_task(
    name="smarthome.leases_ended_reset_run",
    ignore_result=True,
    soft_time_limit=SWEEP_SOFT_TIME_LIMIT,
    time_limit=SWEEP_TIME_LIMIT,
)
def leases_ended_reset_run() -> int:
    """Beat (daily): reset the units whose lease has ended; the same as `manage.py cleanup_move_out`."""
    from smarthome.services import leases_ended_reset

    return leases_ended_reset().processed


@shared_task(
    name="smarthome.settings_purge_requests_sweep",
    ignore_result=True,
    soft_time_limit=SWEEP_SOFT_TIME_LIMIT,
    time_limit=SWEEP_TIME_LIMIT,
)
def settings_purge_requests_sweep() -> int:
    """Beat (hourly): finish purge requests left pending or failed; as `manage.py cleanup_purge_requests`."""
    from smarthome.services import settings_purge_requests_process

    return settings_purge_requests_process().processed
