"""The device channel's state changes: a version bump per settings change, the desired message of
a channel, and the record of what a hub reports (docs/device-states.md, docs/device-protocol.md).

Model: AWS IoT Device Shadow (desired / reported, a version that lets both sides drop stale or
reordered messages, a whole-state "get" after an outage) and Seam's access-code lifecycle
(setting → set → removing → removed, failures with a reason, removal done only when the lock
says so). Every message carries the whole state of a channel, so a lost one is repaired by the next.
"""

from __future__ import annotations

import datetime
import functools
import logging
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from myspacecore.core.lookups import AnyOf
from myspacecore.tenancy.sql import column_name, table

from ..app_settings import app_settings
from ..crypto import pin_decrypt
from ..models import Device, DeviceSettingsReset, PinCode, RemoteControlSetting, SettingsPurgeRequest, SyncState
from . import protocol
from .selectors import (
    DeviceVersions,
    channels_devices,
    channels_lagging,
    devices_unconfirmed,
    resets_open_for,
)
from .transport import transport

if TYPE_CHECKING:  # the broker's module brings paho, which only the channel's processes need
    from . import broker

logger = logging.getLogger(__name__)

PIN_REF, REMOTE_REF = "p", "r"
# A hub's `get` whose answer is still queued is merged into it (the hubs ask again after >= 22 s).
RESEND_CACHE_PREFIX = "smarthome:resend"
RESEND_MERGE_SECONDS = 20
# Hubs' `get` answered by one task (a reconnect storm is answered in batches, not 10,000 tasks).
RESEND_BATCH = 200
# Channels published by one task after a change of many (a move-out batch).
PUBLISH_BATCH = 200
# How precisely `Device.last_seen_at` follows a channel that only repeats what it holds.
SEEN_PRECISION_SECONDS = 60


@dataclass(frozen=True)
class ReportOutcome:
    """What `report_record` did with one report."""

    applied: tuple[str, ...] = ()  # device channel ids whose new version was recorded
    ignored: tuple[str, ...] = ()  # stale, duplicate or impossible versions: no setting changed
    rejected: bool = False  # the report was not this channel's to make: nothing applied
    removed: int = 0  # settings whose removal a device confirmed (their rows are gone)
    resets_confirmed: int = 0
    purge_requests_done: int = 0


def device_key_for(*, channel_id: str) -> bytes:
    """The Fernet key PINs are sealed with for the device of `channel_id` (protocol.device_key)."""
    return protocol.device_key(secret=app_settings.DEVICE_KEY_SECRET or settings.SECRET_KEY, channel_id=channel_id)


def channels_provisioning(
    *, channels: QuerySet[Device], passwords: dict[str, str] | None = None
) -> list[broker.HubProvision]:
    """What each channel of `channels` (devices that connect by themselves) is handed at
    installation: its broker username (its channel id) and password, and every device behind it
    with its key (`device_key_for`, so a hub opens exactly the PINs we seal for it).

    `passwords` keeps a channel's password already issued; a channel without one gets a new
    random password (its hash reaches the broker through `device_broker_credentials`).
    """
    from . import broker

    passwords = passwords or {}
    lock_slots = int(app_settings.PINS_PER_LOCK)
    behind: dict[int, list[Device]] = {}
    hubs = list(channels.filter(hub__isnull=True).order_by("pk"))
    for device in Device.objects.filter(hub__in=hubs).order_by("pk"):
        behind.setdefault(device.hub_id or 0, []).append(device)

    def provision(device: Device) -> broker.DeviceProvision:
        return broker.DeviceProvision(
            channel_id=device.channel_id,
            key=device_key_for(channel_id=device.channel_id).decode(),
            kind=device.kind,
            slots=min(lock_slots, device.slots_total or lock_slots),
        )

    return [
        broker.HubProvision(
            channel_id=hub.channel_id,
            password=passwords.get(hub.channel_id) or secrets.token_urlsafe(24),
            devices=(provision(hub), *(provision(device) for device in behind.get(hub.pk, []))),
        )
        for hub in hubs
    ]


# Desired state
# ------------------------------------------------------------------------------


def device_settings_changed(*, device: Device) -> int:
    """Bump `device`'s desired version and publish its channel when the transaction commits.

    Call it inside the change's transaction and *before* writing the change: the UPDATE takes the
    device's row lock, so a publisher reading the channel sees either none or all of the change,
    and a check made after it (a lock's free slots) is made under that lock. Sets `pending_since`
    unless a change is already waiting. Returns the new version (the setting records it as
    `changed_version`); `device.desired_version` and `device.slots_total` are refreshed from the
    locked row.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_device_bump_sql(connection.vendor), [now, device.pk])
        version, slots_total, channel_id = cursor.fetchone()
    device.desired_version, device.slots_total = version, slots_total
    transaction.on_commit(partial(desired_publish_enqueue, channel_id=channel_id))
    return version


@functools.cache
def _device_bump_sql(vendor: str) -> str:
    """One statement: the version bump, and what the caller reads back under the row lock it
    takes (through the ORM: an UPDATE, then a SELECT joining the hub for the channel)."""
    d = table(Device)

    def name(field_name: str) -> str:
        return column_name(Device, field_name)

    hub_channel = f"(SELECT h.{name('channel_id')} FROM {d} h WHERE h.{name('id')} = {d}.{name('hub')})"  # noqa: S608 - names from _meta
    return (
        f"UPDATE {d} SET {name('desired_version')} = {name('desired_version')} + 1, "  # noqa: S608 - names from _meta
        f"{name('pending_since')} = COALESCE({name('pending_since')}, %s) "
        f"WHERE {name('id')} = %s "
        f"RETURNING {name('desired_version')}, {name('slots_total')}, COALESCE({hub_channel}, {name('channel_id')})"
    )


def devices_settings_changed(*, device_ids: list[int]) -> dict[int, int]:
    """`device_settings_changed` for many devices at once (move-out): {device id: new version};
    one publish per channel on commit."""
    now = timezone.now()
    Device.objects.filter(pk__in=device_ids).update(
        desired_version=F("desired_version") + 1, pending_since=Coalesce("pending_since", now)
    )
    rows = list(
        Device.objects.filter(pk__in=device_ids)
        .annotate(channel=Coalesce("hub__channel_id", "channel_id"))
        .values_list("pk", "desired_version", "channel")
    )
    channels_publish_on_commit(channel_ids={channel for _pk, _version, channel in rows})
    return {pk: version for pk, version, _channel in rows}


def channels_publish_on_commit(*, channel_ids: set[str]) -> None:
    """Once the change commits, publish each channel's whole state: a lone channel (a resident's
    PIN) by a publish task of its own, many (a move-out batch) by one task per PUBLISH_BATCH
    channels (`desired_changes_publish`), not a task per hub."""
    ordered = sorted(channel_ids)
    if len(ordered) == 1:
        transaction.on_commit(partial(desired_publish_enqueue, channel_id=ordered[0]))
        return
    for start in range(0, len(ordered), PUBLISH_BATCH):
        transaction.on_commit(partial(desired_publishes_enqueue, channel_ids=ordered[start : start + PUBLISH_BATCH]))


def desired_publish_enqueue(*, channel_id: str) -> None:
    """Hand a channel's publish to a worker. Runs after commit: a broker that is down is only
    logged (the change is kept; `desired_lagging_republish` sends it later). Answers to hubs'
    `get` go in batches (`desired_resends`)."""
    from ..tasks import device_desired_publish

    try:
        device_desired_publish.delay(channel_id)
    except Exception as exc:  # noqa: BLE001 - broker down: the lag sweep publishes the channel later
        logger.warning("desired state of channel %s not enqueued (%s)", channel_id, type(exc).__name__)


def devices_wipe_on_commit(*, devices: QuerySet[Device]) -> int:
    """Account deletion: the account's own devices go with it, so nothing will ever confirm them;
    once the deletion commits, tell their hubs to hold nothing (an empty whole state at the next
    version). Best effort, logged; returns how many channels will be told."""
    rows = devices.annotate(channel=Coalesce("hub__channel_id", "channel_id")).values_list(
        "channel", "channel_id", "desired_version"
    )
    by_channel: dict[str, list[list[str | int]]] = {}
    for channel, device, version in rows:
        by_channel.setdefault(channel, []).append([device, version + 1])
    for channel_id, entries in sorted(by_channel.items()):
        transaction.on_commit(partial(_wipe_enqueue, channel_id=channel_id, devices=entries))
    return len(by_channel)


def _wipe_enqueue(*, channel_id: str, devices: list[list[str | int]]) -> None:
    from ..tasks import device_wipe_publish

    try:
        device_wipe_publish.delay(channel_id, devices)
    except Exception as exc:  # noqa: BLE001 - the account is gone either way; say so in the log
        logger.error("empty state for deleted account's channel %s not enqueued (%s)", channel_id, type(exc).__name__)


def wipe_publish(*, channel_id: str, devices: list[list[str | int]]) -> None:
    """Publish an empty whole state for devices that no longer exist here (`devices_wipe_on_commit`)."""
    message = protocol.Desired(
        hub=channel_id,
        devices=tuple(protocol.DesiredDevice(device=str(device), version=int(version)) for device, version in devices),
        sent_at=protocol.now_iso(),
    )
    transport().publish(channel_id=channel_id, payload=protocol.desired_encode(message))


def _iso(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds") if value else None


def desired_message(*, channel_id: str) -> protocol.Desired | None:
    """The whole desired state of every device behind `channel_id`, PINs sealed per device; None
    for an unknown channel (`desired_messages` for one channel)."""
    return desired_messages(channel_ids=[channel_id]).get(channel_id)


@transaction.atomic
def desired_messages(*, channel_ids: Iterable[str]) -> dict[str, protocol.Desired]:
    """The whole desired state of each known channel of `channel_ids`, PINs sealed per device, in
    a few reads whatever their number. Reads under the devices' row locks: versions and content agree."""
    channels = channels_devices(channel_ids=channel_ids, lock=True)
    devices = [device for found in channels.values() for device in found]
    pins: dict[int, list[protocol.DesiredPin]] = {device.pk: [] for device in devices}
    remotes: dict[int, list[protocol.DesiredRemote]] = {device.pk: [] for device in devices}
    keys = {device.pk: device_key_for(channel_id=device.channel_id) for device in devices}
    for pin_code in PinCode.objects.filter(device__in=keys).order_by("pk"):
        sealed = protocol.pin_seal(key=keys[pin_code.device_id], pin=pin_decrypt(pin_code.pin_encrypted))
        pins[pin_code.device_id].append(
            protocol.DesiredPin(
                ref=f"{PIN_REF}{pin_code.pk}",
                sealed=sealed,
                valid_from=_iso(pin_code.valid_from),
                valid_until=_iso(pin_code.valid_until),
            )
        )
    for remote in RemoteControlSetting.objects.filter(device__in=keys).order_by("pk"):
        remotes[remote.device_id].append(
            protocol.DesiredRemote(
                ref=f"{REMOTE_REF}{remote.pk}",
                name=remote.name,
                appliance=remote.appliance_type,
                maker=remote.maker,
                signal=remote.signal_data,
            )
        )
    sent_at = protocol.now_iso()
    return {
        channel_id: protocol.Desired(
            hub=channel_id,
            devices=tuple(
                protocol.DesiredDevice(
                    device=device.channel_id,
                    version=device.desired_version,
                    pins=tuple(pins[device.pk]),
                    remotes=tuple(remotes[device.pk]),
                )
                for device in found
            ),
            sent_at=sent_at,
        )
        for channel_id, found in channels.items()
    }


def desired_publish(*, channel_id: str, asked: bool = False) -> bool:
    """Publish the channel's current whole desired state now (the task's body). False for an
    unknown channel; raises TransportUnavailable when the transport cannot take it.

    `asked`: the answer to the hub's `get`: its devices are marked seen (online) first, and a
    `get` arriving from now on is answered again (it may follow a change this one misses)."""
    if asked and not _answering(channel_ids=[channel_id]):
        return False
    message = desired_message(channel_id=channel_id)
    if message is None:
        logger.warning("desired state for unknown channel %s not published", channel_id)
        return False
    transport().publish(channel_id=channel_id, payload=protocol.desired_encode(message))
    return True


def desired_publishes_enqueue(*, channel_ids: list[str]) -> None:
    """Hand many channels' publish to a worker, in one task. Runs after commit: a broker that is
    down is only logged (the changes are kept; `desired_lagging_republish` sends them later)."""
    from ..tasks import device_desired_publish_many

    try:
        device_desired_publish_many.delay(channel_ids)
    except Exception as exc:  # noqa: BLE001 - broker down: the lag sweep publishes the channels later
        logger.warning("desired state of %s channels not enqueued (%s)", len(channel_ids), type(exc).__name__)


def desired_changes_publish(*, channel_ids: list[str]) -> list[str]:
    """Publish many channels' current whole desired states now (the batch task's body): read
    together, published, the broker's acknowledgements awaited together. An unknown channel is
    logged and skipped. Returns the channels the transport could not take (the caller gives each
    a publish of its own, retried)."""
    messages = desired_messages(channel_ids=channel_ids)
    unknown = sorted(set(channel_ids) - set(messages))
    if unknown:
        logger.warning(
            "desired state for %s unknown channel(s) not published: %s", len(unknown), ", ".join(unknown[:10])
        )
    if not messages:
        return []
    return transport().publish_many(
        messages=[(channel_id, protocol.desired_encode(message)) for channel_id, message in messages.items()]
    )


def desired_answers_publish(*, channel_ids: list[str]) -> list[str]:
    """Answer many hubs' `get` at once (the batch task's body): every known channel's devices are
    marked seen (online), its whole desired state read and published, in a few statements and one
    wait for the broker's acknowledgements whatever their number. Returns the channels the
    transport could not take (the caller gives each a publish of its own, retried).

    As `desired_publish(asked=True)`: a `get` arriving from now on is answered again."""
    channels = _answering(channel_ids=channel_ids)
    if not channels:
        return []
    messages = desired_messages(channel_ids=list(channels))
    return transport().publish_many(
        messages=[(channel_id, protocol.desired_encode(message)) for channel_id, message in messages.items()]
    )


def _answering(*, channel_ids: list[str]) -> dict[str, list[DeviceVersions]]:
    """Before answering hubs' `get`: a `get` from now on is answered again (its merge key goes),
    and every known channel's devices were seen now (online). The known channels' devices."""
    cache.delete_many([f"{RESEND_CACHE_PREFIX}:{channel_id}" for channel_id in channel_ids])
    channels = channels_devices(channel_ids=channel_ids)
    unknown = sorted(set(channel_ids) - set(channels))
    if unknown:
        logger.warning("get from %s unknown channel(s) ignored: %s", len(unknown), ", ".join(unknown[:10]))
    devices = [device for found in channels.values() for device in found]
    if devices:
        _devices_seen(
            device_ids=[device.pk for device in devices],
            now=timezone.now(),
            offline=any(device.sync_failure == Device.SyncFailure.OFFLINE for device in devices),
        )
    return channels


def desired_resend(*, channel_id: str) -> None:
    """A hub's "get" (it reconnected, or asks again): `desired_resends` for one channel."""
    desired_resends(channel_ids=[channel_id])


def desired_resends(*, channel_ids: Iterable[str]) -> None:
    """Hubs' "get" (reconnected, or asking again): publish each one's whole state, and mark it online.

    The gateway calls it for what it received together and must not wait on the database or the
    broker: all of it happens in one task per RESEND_BATCH channels (`desired_answers_publish`);
    here, one cache add per channel and, on commit, the enqueues. A hub's requests whose answer is
    still queued are merged into it.
    """
    fresh = [
        channel_id
        for channel_id in dict.fromkeys(channel_ids)
        if cache.add(f"{RESEND_CACHE_PREFIX}:{channel_id}", True, timeout=RESEND_MERGE_SECONDS)
    ]
    for start in range(0, len(fresh), RESEND_BATCH):
        transaction.on_commit(partial(desired_answers_enqueue, channel_ids=fresh[start : start + RESEND_BATCH]))


def desired_answers_enqueue(*, channel_ids: list[str]) -> None:
    """Hand the answers to hubs' `get` to a worker; a broker that is down is only logged (the hub asks again)."""
    from ..tasks import device_desired_answer

    try:
        device_desired_answer.delay(channel_ids)
    except Exception as exc:  # noqa: BLE001 - the hubs ask again (30 s, then doubling) until answered
        logger.warning("answers to %s hubs' get not enqueued (%s)", len(channel_ids), type(exc).__name__)


def _devices_seen(*, device_ids: list[int], now: datetime.datetime, offline: bool = True) -> None:
    """The channel spoke: its devices were seen now, and are no longer offline (one statement).
    `offline=False` when the caller knows none of them is marked offline.

    "Seen" is kept to the minute (SEEN_PRECISION_SECONDS): a hub repeating itself within a minute
    writes no row; one marked offline is written at once."""
    recent = Q(last_seen_at__gte=now - datetime.timedelta(seconds=SEEN_PRECISION_SECONDS))
    if not offline:
        Device.objects.filter(AnyOf(F("pk"), device_ids)).exclude(recent).update(last_seen_at=now)
        return
    was_offline = Q(sync_failure=Device.SyncFailure.OFFLINE)
    Device.objects.filter(AnyOf(F("pk"), device_ids)).filter(~recent | was_offline).update(
        last_seen_at=now,
        sync_failure=Case(When(was_offline, then=Value("")), default=F("sync_failure")),
        sync_failure_since=Case(When(was_offline, then=None), default=F("sync_failure_since")),
    )


@transaction.atomic
def channel_offline_record(*, channel_id: str) -> int:
    """The transport gave up on a channel: its devices show "hub offline since …" (the time last
    heard from, else now) until they report again. Returns how many devices were marked."""
    now = timezone.now()
    devices = Device.objects.filter(Q(channel_id=channel_id, hub__isnull=True) | Q(hub__channel_id=channel_id))
    marked = devices.exclude(sync_failure=Device.SyncFailure.OFFLINE).update(
        sync_failure=Device.SyncFailure.OFFLINE, sync_failure_since=Coalesce("last_seen_at", now)
    )
    logger.warning("channel %s unreachable: %s devices marked offline", channel_id, marked)
    return marked


def desired_lagging_republish() -> int:
    """Beat: publish again every channel with a device that has not confirmed its desired version
    (a broker that was down, a message lost, a hub that missed its "get"). Returns how many."""
    count = 0
    for channel_id in channels_lagging().iterator():
        desired_publish_enqueue(channel_id=channel_id)
        count += 1
    if count:
        logger.info("desired state republished to %s lagging channels", count)
    return count


def devices_unconfirmed_flag() -> int:
    """Beat: every device unconfirmed for longer than SMARTHOME_DEVICE_CONFIRM_WARN_AFTER_SECONDS
    is logged for the operator and shown offline to the resident. Returns how many are waiting."""
    since = timezone.now() - datetime.timedelta(seconds=app_settings.DEVICE_CONFIRM_WARN_AFTER_SECONDS)
    waiting = devices_unconfirmed(since=since)
    count = 0
    for device in waiting.iterator():
        count += 1
        logger.warning(
            "device #%s (channel %s) has not confirmed version %s since %s",
            device.pk,
            device.channel_id,
            device.desired_version,
            device.pending_since.isoformat() if device.pending_since else "?",
        )
    waiting.filter(sync_failure="").update(
        sync_failure=Device.SyncFailure.OFFLINE, sync_failure_since=Coalesce("last_seen_at", "pending_since")
    )
    return count


# Reported state
# ------------------------------------------------------------------------------


def report_record(*, channel_id: str, report: protocol.Reported) -> ReportOutcome:
    """Apply one hub's report (`reports_record` with a batch of one)."""
    return reports_record(reports=[(channel_id, report)])[0]


@transaction.atomic
def reports_record(*, reports: Sequence[tuple[str, protocol.Reported]]) -> list[ReportOutcome]:
    """Apply hubs' reports idempotently, in one transaction; one outcome per report, in order.
    The gateway records what it received in batches: the cost is a handful of statements per
    batch, not per report.

    A report naming another hub, or any device not behind its channel, is rejected and logged:
    nothing of it is applied. Per device: an older version than recorded is stale and a newer one
    than desired impossible (both ignored); the recorded version again only says the device is
    online; a newer one sets each setting it covers (set / failed with the reason), deletes the
    rows whose removal it confirms, and confirms the resets and purge requests it completes.

    Statements per batch (`_reports_apply`): one unlocked read of the devices, and one UPDATE of
    those not seen within the minute; with new versions, two reads that lock those channels'
    devices, one read per kind of setting, one of the open resets and one UPDATE of the devices
    (plus the writes of the settings that changed). Two reports of one channel in a batch are
    applied one after the other (a second round), as if they had come in two batches.
    """
    if connection.vendor == "postgresql" and len(reports) > 1:
        # A batch's reads are a few index probes per report; for arrays of a few hundred keys
        # PostgreSQL plans them in parallel, and starting the workers costs ~10 ms against 2 ms
        # serial (measured at 10,000 hubs). For this transaction only.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    rounds: list[list[int]] = []
    count: Counter[str] = Counter()
    for index, (channel_id, _report) in enumerate(reports):
        if count[channel_id] == len(rounds):
            rounds.append([])
        rounds[count[channel_id]].append(index)
        count[channel_id] += 1
    outcomes: list[ReportOutcome] = [ReportOutcome()] * len(reports)
    for indexes in rounds:
        for index, outcome in zip(indexes, _reports_apply([reports[i] for i in indexes]), strict=True):
            outcomes[index] = outcome
    return outcomes


@dataclass
class _Verdict:
    """How one report reads against its devices' rows (`_reports_apply`)."""

    newer: list[tuple[DeviceVersions, protocol.ReportedDevice]]
    seen: list[DeviceVersions]
    applied: list[str]
    ignored: list[str]
    stale: list[tuple[str, int]]


def _verdict(report: protocol.Reported, devices: list[DeviceVersions]) -> _Verdict | None:
    """Per device of the report: stale or never sent (ignored), the recorded version again (seen),
    or newer (applied). None when a device it names is not behind the channel."""
    by_channel = {device.channel_id: device for device in devices}
    if any(entry.device not in by_channel for entry in report.devices):
        return None
    verdict = _Verdict(newer=[], seen=[], applied=[], ignored=[], stale=[])
    for entry in report.devices:
        device = by_channel[entry.device]
        if entry.version > device.desired_version or entry.version < device.reported_version:
            verdict.stale.append((entry.device, entry.version))
            verdict.ignored.append(entry.device)
        elif entry.version == device.reported_version and device.reported:
            verdict.seen.append(device)
            verdict.ignored.append(entry.device)
        else:
            verdict.newer.append((device, entry))
            verdict.applied.append(entry.device)
    return verdict


def _reports_apply(reports: list[tuple[str, protocol.Reported]]) -> list[ReportOutcome]:
    """One round of `reports_record`: each channel at most once.

    The devices are read without locks first: a report that only repeats what is recorded (the
    common case: a hub asked again, a duplicate) writes nothing but, once a minute, `last_seen_at`,
    so it needs no lock. The channels of reports with a newer version are then locked and read
    again, and those reports judged on what the lock shows (versions only grow, so a report that
    read as stale or repeated stays so)."""
    now = timezone.now()
    since = now - datetime.timedelta(seconds=SEEN_PRECISION_SECONDS)
    wanted = [channel for channel, report in reports if report.hub == channel]
    channels = channels_devices(channel_ids=wanted, seen_since=since)
    verdicts = {
        index: _verdict(report, channels[channel_id])
        for index, (channel_id, report) in enumerate(reports)
        if report.hub == channel_id and channel_id in channels
    }
    to_lock = {reports[index][0] for index, verdict in verdicts.items() if verdict is not None and verdict.newer}
    if to_lock:
        channels.update(channels_devices(channel_ids=to_lock, lock=True, seen_since=since))
        for index, (channel_id, report) in enumerate(reports):
            if channel_id in to_lock:
                verdicts[index] = _verdict(report, channels.get(channel_id, []))
    newer: list[tuple[DeviceVersions, protocol.ReportedDevice]] = []
    seen: list[DeviceVersions] = []
    for index, (channel_id, report) in enumerate(reports):
        verdict = verdicts.get(index)
        if verdict is None:
            foreign = [entry.device for entry in report.devices if entry.device not in channels.get(channel_id, ())]
            logger.warning(
                "report on channel %s rejected: hub %s, devices not behind it: %s", channel_id, report.hub, foreign
            )
            continue
        for device, version in verdict.stale:
            logger.info("report of device %s at version %s ignored", device, version)
        newer.extend(verdict.newer)
        seen.extend(verdict.seen)
    to_touch = [d for d in seen if not d.seen_recently or d.sync_failure == Device.SyncFailure.OFFLINE]
    if to_touch:
        _devices_seen(
            device_ids=[device.pk for device in to_touch],
            now=now,
            offline=any(device.sync_failure == Device.SyncFailure.OFFLINE for device in to_touch),
        )
    removed: Counter[int] = Counter()
    resets: Counter[int] = Counter()
    purges: Counter[int] = Counter()
    if newer:
        removed = _settings_report_apply(reports=newer, now=now)
        _devices_report_record(reports=newer, now=now)
        resets, purges = _resets_confirm(reports=newer, now=now)
    outcomes = []
    for index, (channel_id, _report) in enumerate(reports):
        verdict = verdicts.get(index)
        if verdict is None:
            outcomes.append(ReportOutcome(rejected=True))
            continue
        if not verdict.newer:  # a repeat (the common case): nothing removed or confirmed
            outcomes.append(ReportOutcome(ignored=tuple(verdict.ignored)))
            continue
        pks = [device.pk for device in channels[channel_id]]
        outcomes.append(
            ReportOutcome(
                applied=tuple(verdict.applied),
                ignored=tuple(verdict.ignored),
                removed=sum(removed[pk] for pk in pks),
                resets_confirmed=sum(resets[pk] for pk in pks),
                purge_requests_done=sum(purges[pk] for pk in pks),
            )
        )
    return outcomes


def _settings_report_apply(
    *, reports: list[tuple[DeviceVersions, protocol.ReportedDevice]], now: datetime.datetime
) -> Counter[int]:
    """Each setting a device's new version covers takes the state it reports; a removal it confirms
    deletes the row. One read per kind of setting for every device of the batch. Returns the
    settings removed, by device."""
    entries = {device.pk: entry for device, entry in reports}
    items = {pk: {item.ref: item for item in (*entry.pins, *entry.remotes)} for pk, entry in entries.items()}
    models: tuple[tuple[type[PinCode] | type[RemoteControlSetting], str], ...] = (
        (PinCode, PIN_REF),
        (RemoteControlSetting, REMOTE_REF),
    )
    removed: Counter[int] = Counter()
    for model, prefix in models:
        gone: list[int] = []
        changed: list[Any] = []
        rows = model.all_objects.filter(AnyOf(F("device_id"), list(entries))).only(
            "pk", "device_id", "sync_state", "sync_failure", "changed_version"
        )
        for row in rows:
            entry = entries[row.device_id]
            if row.changed_version > entry.version:
                continue  # changed after the version reported: still on its way
            item = items[row.device_id].get(f"{prefix}{row.pk}")
            if row.sync_state == SyncState.REMOVING:
                if item is None:
                    gone.append(row.pk)
                    removed[row.device_id] += 1
                else:  # a whole state without it was applied, yet the device still lists it
                    logger.warning(
                        "device %s still holds %s%s after version %s", row.device_id, prefix, row.pk, entry.version
                    )
                continue
            state, reason = _item_state(item)
            if (row.sync_state, row.sync_failure) != (state, reason):
                row.sync_state, row.sync_failure, row.sync_changed_at = state, reason, now
                changed.append(row)
        if gone:
            model.all_objects.filter(pk__in=gone).delete()
        if changed:
            model.all_objects.bulk_update(changed, ["sync_state", "sync_failure", "sync_changed_at"])
    return removed


def _devices_report_record(
    *, reports: list[tuple[DeviceVersions, protocol.ReportedDevice]], now: datetime.datetime
) -> None:
    """Record each device's new reported version (one UPDATE for all of them): every column written
    is set here, a value kept as an expression of itself."""
    rows = [
        Device(
            pk=device.pk,
            reported_version=entry.version,
            reported_at=now,
            last_seen_at=now,
            slots_total=entry.slots_total if entry.slots_total is not None else F("slots_total"),
            sync_failure="",
            sync_failure_since=None,
            pending_since=None if entry.version >= device.desired_version else F("pending_since"),
        )
        for device, entry in reports
    ]
    Device.objects.bulk_update(
        rows,
        [
            "reported_version",
            "reported_at",
            "last_seen_at",
            "slots_total",
            "sync_failure",
            "sync_failure_since",
            "pending_since",
        ],
    )


def _item_state(item: protocol.ReportedItem | None) -> tuple[str, str]:
    """A setting the device lists as set is set; one it lists as failed failed with its reason; one
    it does not list at a version that included it is not on it: rejected."""
    if item is None:
        return SyncState.FAILED, "rejected"
    if item.status == "set":
        return SyncState.SET, ""
    return SyncState.FAILED, item.reason


def _resets_confirm(
    *, reports: list[tuple[DeviceVersions, protocol.ReportedDevice]], now: datetime.datetime
) -> tuple[Counter[int], Counter[int]]:
    """Confirm each device's resets made at its reported version or before once none of what they
    removed is left on it; finish each purge request whose every reset is confirmed. One read of
    the open resets for every device of the batch. (resets confirmed, purge requests done), by device."""
    versions = {device.pk: entry.version for device, entry in reports}
    open_resets = [
        reset for reset in resets_open_for(device_ids=list(versions)) if reset.version <= versions[reset.device_id]
    ]
    confirmed: Counter[int] = Counter()
    done: Counter[int] = Counter()
    for reset in open_resets:
        still_on_device = Q(
            device_id=reset.device_id, sync_state=SyncState.REMOVING, changed_version__lte=reset.version
        )
        if PinCode.all_objects.filter(still_on_device).exists():
            continue
        if RemoteControlSetting.all_objects.filter(still_on_device).exists():
            continue
        reset.confirmed_at = now
        reset.save(update_fields=["confirmed_at"])
        confirmed[reset.device_id] += 1
        if reset.purge_request_id is not None:
            done[reset.device_id] += purge_request_finish_if_confirmed(purge_request_id=reset.purge_request_id, now=now)
    return confirmed, done


def purge_request_finish_if_confirmed(*, purge_request_id: int, now: datetime.datetime | None = None) -> int:
    """Mark a purge request done once every device it reset confirmed the empty state (1 if so)."""
    if DeviceSettingsReset.objects.filter(purge_request_id=purge_request_id, confirmed_at__isnull=True).exists():
        return 0
    finished = SettingsPurgeRequest.objects.filter(
        pk=purge_request_id, state=SettingsPurgeRequest.State.AWAITING_DEVICES
    ).update(state=SettingsPurgeRequest.State.DONE, finished_at=now or timezone.now())
    if finished:
        logger.info("settings purge request #%s done: every device confirmed", purge_request_id)
    return finished
