"""Celery tasks of the smarthome app: thin interfaces to the services (the purge, the move-out sweep)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from celery import shared_task

import myspacecore.celery  # noqa: F401  (@shared_task binds to the project's app: myspacecore/__init__.py)
from myspacecore.core.retry import DEVICE_PUBLISH, RETRY_POLICIES, SETTINGS_PURGE, retry_or_give_up

logger = logging.getLogger(__name__)

PURGE_RETRY = RETRY_POLICIES[SETTINGS_PURGE]
PUBLISH_RETRY = RETRY_POLICIES[DEVICE_PUBLISH]
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
    the request is marked FAILED for `manage.py cleanup_purge_requests`. Returns the outcome
    (the request's state: "done", or "awaiting_devices" until its devices confirm).
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
    return purge_request.state


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


# The device channel (smarthome/sync)
# ------------------------------------------------------------------------------


@shared_task(
    bind=True,
    name="smarthome.device_desired_publish",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def device_desired_publish(self, channel_id: str, asked: bool = False) -> str:
    """Publish channel `channel_id`'s current whole desired state (enqueued when a change commits,
    and, `asked`, to answer the hub's `get`: its devices are then marked online first).

    Idempotent (the whole state, versioned): `acks_late` and redelivery are safe, and a late run
    sends the newest state, not the one of its change. A transport that is down is retried with
    backoff; when the retries run out the devices show "hub offline" and the lag sweep
    (`desired_lagging_run`) publishes again later: the change itself is kept in the database.
    """
    from smarthome.sync.backends.base import TransportUnavailable
    from smarthome.sync.services import desired_publish

    try:
        published = desired_publish(channel_id=channel_id, asked=asked)
    except TransportUnavailable as exc:
        return retry_or_give_up(
            self,
            exc,
            policy=PUBLISH_RETRY,
            what=f"desired state of channel {channel_id}",
            logger=logger,
            give_up=functools.partial(_channel_offline, channel_id),
        )
    return "published" if published else "missing"


@shared_task(
    name="smarthome.device_desired_publish_many", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def device_desired_publish_many(channel_ids: list[str]) -> str:
    """Publish many channels' whole desired states at once after a change of many (a move-out
    batch: a few hundred tasks for 200,000 units, not one per hub). Idempotent like a publish. A
    channel the transport could not take gets a publish task of its own (`device_desired_publish`,
    with its retries and "hub offline" when they run out); the broker down altogether does the
    same for all.
    """
    from smarthome.sync.services import desired_changes_publish

    failed = _desired_publish_or_hand_on(
        desired_changes_publish, channel_ids, asked=False, what=f"desired state of {len(channel_ids)} channels"
    )
    return f"{len(channel_ids)} channels, {len(failed)} handed on"


@shared_task(name="smarthome.device_desired_answer", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def device_desired_answer(channel_ids: list[str]) -> str:
    """Answer many hubs' `get` at once (`desired_answers_publish`: a reconnect storm is a few
    hundred tasks, not one per hub). Idempotent like a publish. A channel whose message the
    transport could not take gets a publish task of its own (`device_desired_publish`, with its
    retries and "hub offline" when they run out); the broker down altogether does the same for all.
    """
    from smarthome.sync.services import desired_answers_publish

    failed = _desired_publish_or_hand_on(
        desired_answers_publish, channel_ids, asked=True, what=f"answers to {len(channel_ids)} hubs' get"
    )
    return f"{len(channel_ids) - len(failed)} answered, {len(failed)} handed on"


def _desired_publish_or_hand_on(
    publish: Callable[..., list[str]], channel_ids: list[str], *, asked: bool, what: str
) -> list[str]:
    """Publish many channels at once through `publish` (a batch service: the channels the transport
    did not take); each channel not taken, or all of them when the transport is down, is handed on
    to a publish task of its own (`device_desired_publish`, `asked` when it answers a `get`), whose
    retries and "hub offline" cover it. The channels handed on."""
    from smarthome.sync.backends.base import TransportUnavailable

    try:
        failed = publish(channel_ids=channel_ids)
    except TransportUnavailable as exc:
        logger.warning("%s: %s, publishing one by one", what, type(exc).__name__)
        failed = channel_ids
    for channel_id in failed:
        if asked:
            device_desired_publish.delay(channel_id, asked=True)
        else:
            device_desired_publish.delay(channel_id)  # a plain publish, as a change enqueues it
    return failed


def _channel_offline(channel_id: str) -> str:
    from smarthome.sync.services import channel_offline_record

    channel_offline_record(channel_id=channel_id)
    return "offline"


@shared_task(bind=True, name="smarthome.device_wipe_publish", acks_late=True, ignore_result=True)
def device_wipe_publish(self, channel_id: str, devices: list) -> str:
    """Tell a deleted account's hub to hold nothing: an empty whole state for `devices`
    ([[device channel id, version], …]). Retried like a publish; nothing confirms it (the rows
    are gone), so giving up is logged as an error for the operator."""
    from smarthome.sync.backends.base import TransportUnavailable
    from smarthome.sync.services import wipe_publish

    try:
        wipe_publish(channel_id=channel_id, devices=devices)
    except TransportUnavailable as exc:
        return retry_or_give_up(
            self,
            exc,
            policy=PUBLISH_RETRY,
            what=f"empty state of deleted account's channel {channel_id}",
            logger=logger,
            give_up=functools.partial(_wipe_given_up, channel_id),
        )
    return "published"


def _wipe_given_up(channel_id: str) -> str:
    logger.error("empty state of deleted account's channel %s never delivered", channel_id)
    return "given_up"


@shared_task(name="smarthome.simulated_hub_answer", ignore_result=True)
def simulated_hub_answer(channel_id: str, payload: str) -> None:
    """The simulated transport's hub, on a worker: apply `payload` and report (backends/simulated.py)."""
    from smarthome.sync.backends.simulated import hub_answer

    hub_answer(channel_id=channel_id, payload=payload)


@shared_task(name="smarthome.desired_lagging_run", ignore_result=True)
def desired_lagging_run() -> int:
    """Beat (every 5 minutes): publish again every channel whose devices lag behind their desired version."""
    from smarthome.sync.services import desired_lagging_republish

    return desired_lagging_republish()


@shared_task(name="smarthome.devices_unconfirmed_run", ignore_result=True)
def devices_unconfirmed_run() -> int:
    """Beat (hourly): log and flag devices unconfirmed past SMARTHOME_DEVICE_CONFIRM_WARN_AFTER_SECONDS."""
    from smarthome.sync.services import devices_unconfirmed_flag

    return devices_unconfirmed_flag()
