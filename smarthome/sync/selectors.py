"""Reads of the device channel: which devices a channel reaches, which channels lag, what waits."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce

from myspacecore.core.lookups import AnyOf
from myspacecore.tenancy.models import Unit

from ..models import Device, DeviceSettingsReset


def device_channel_id(*, device: Device) -> str:
    """The channel a device is reached through: its hub's, or its own when it connects by itself."""
    if device.hub_id is None:
        return device.channel_id
    return Device.objects.values_list("channel_id", flat=True).get(pk=device.hub_id)


@dataclass(slots=True)
class DeviceVersions:
    """What a report is checked against, for one device (`channels_devices`): the rest of the row is not read."""

    pk: int
    channel_id: str
    hub_id: int | None
    desired_version: int
    reported_version: int
    reported: bool  # it has reported at least once (reported_at is set)
    sync_failure: str
    seen_recently: bool = False  # last seen at or after `seen_since`


def channels_devices(
    *, channel_ids: Iterable[str], lock: bool = False, seen_since: datetime.datetime | None = None
) -> dict[str, list[DeviceVersions]]:
    """The devices a batch of channels reaches (a gateway's batch of reports, a batch of answers
    to `get`), in one indexed read (two with `lock`) whatever their number, as plain rows: {channel id: its own
    device and the devices behind it, by primary key}; an unknown channel, or a device behind a
    hub, is not in it.

    `lock` takes every row lock in primary-key order, so two gateways locking overlapping batches
    wait for each other instead of deadlocking. `seen_since` sets each row's `seen_recently`.
    """
    wanted = list(set(channel_ids))
    columns = (
        "pk",
        "channel_id",
        "hub_id",
        "desired_version",
        "reported_version",
        ExpressionWrapper(Q(reported_at__isnull=False), output_field=BooleanField()),
        "sync_failure",
        (
            ExpressionWrapper(Q(last_seen_at__gte=seen_since), output_field=BooleanField())
            if seen_since
            else Value(False, output_field=BooleanField())
        ),
    )
    found: dict[str, list[DeviceVersions]] = {}
    if not lock:
        # One read: the channels' own devices by their unique index, and the devices behind them
        # through their hub's (UNION ALL: an OR across the join would scan every device).
        own = Device.objects.filter(AnyOf(F("channel_id"), wanted), hub__isnull=True).annotate(owner=F("channel_id"))
        behind = Device.objects.filter(AnyOf(F("hub__channel_id"), wanted), hub__hub__isnull=True).annotate(
            owner=F("hub__channel_id")
        )
        rows = (
            own.order_by()
            .values_list(*columns, "owner")
            .union(behind.order_by().values_list(*columns, "owner"), all=True)
        )
        for *row, owner in sorted(rows):
            found.setdefault(owner, []).append(DeviceVersions(*row))
    else:
        # FOR UPDATE takes no UNION: the owners first, then every device locked in primary-key order.
        owners = dict(
            Device.objects.filter(AnyOf(F("channel_id"), wanted), hub__isnull=True).values_list("pk", "channel_id")
        )
        if not owners:
            return {}
        ids = list(owners)
        devices = Device.objects.filter(Q(AnyOf(F("pk"), ids)) | Q(AnyOf(F("hub_id"), ids)))
        for row in devices.select_for_update(of=("self",)).order_by("pk").values_list(*columns):
            device = DeviceVersions(*row)
            channel_id = owners.get(device.pk if device.hub_id is None else device.hub_id)
            if channel_id is not None:  # else it moved behind another hub between the two reads
                found.setdefault(channel_id, []).append(device)
    # A channel whose own device is not among them (now behind a hub) is unknown.
    return {channel_id: rows for channel_id, rows in found.items() if any(row.channel_id == channel_id for row in rows)}


def channels_lagging() -> QuerySet:
    """Channel ids of every channel one of whose devices has not confirmed its desired version."""
    return (
        Device.objects.filter(desired_version__gt=F("reported_version"))
        .annotate(channel=Coalesce("hub__channel_id", "channel_id"))
        .values_list("channel", flat=True)
        .order_by("channel")
        .distinct()
    )


def devices_unconfirmed(*, since: datetime.datetime) -> QuerySet[Device]:
    """Devices that have held back a change since `since` or longer (the operator's list)."""
    return (
        Device.objects.filter(pending_since__lte=since, desired_version__gt=F("reported_version"))
        .select_related("unit__property", "hub")
        .order_by("pending_since", "pk")
    )


def units_reset_pending() -> QuerySet[Unit]:
    """Units with a move-out reset or purge not yet confirmed by every device, longest waiting first.

    Each unit carries `reset_requested_at` (its oldest unconfirmed reset) and `devices_pending`.
    """
    # Both conditions: `confirmed_at__isnull` alone also matches a device with no reset at all
    # (the LEFT JOIN's empty row), which would list every unit that has a device.
    open_resets = Q(devices__resets__isnull=False, devices__resets__confirmed_at__isnull=True)
    waiting = DeviceSettingsReset.objects.filter(device__unit=OuterRef("pk"), confirmed_at__isnull=True)
    return (
        Unit.objects.filter(Exists(waiting))
        .annotate(
            reset_requested_at=Min("devices__resets__requested_at", filter=open_resets),
            devices_pending=Count("devices", filter=open_resets, distinct=True),
        )
        .select_related("property")
        .order_by("reset_requested_at", "pk")
    )


def resets_open_for(*, device_ids: list[int]) -> QuerySet[DeviceSettingsReset]:
    """The resets of these devices not confirmed yet (a report confirms those at or before its version)."""
    return DeviceSettingsReset.objects.filter(device_id__in=device_ids, confirmed_at__isnull=True)
