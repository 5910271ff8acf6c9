"""Reads of the smarthome app. Every lookup a resident makes goes through `*_for_user`,
so another account's device, remote or PIN is simply not found (404), whatever the id.
They take the page's `request.user` as it is: an anonymous user sees nothing."""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from myspacecore.tenancy.models import Lease, Property, Unit
from myspacecore.tenancy.sql import column, lease_in_force_sql, model_from_row, models_from_row, select_list, table

from .models import Device, PinCode, RemoteControlSetting, SyncState

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def _devices_visible_q(*, user: User, on: datetime.date | None = None) -> Q:
    """The account's own devices and those of the unit of its current lease.

    A UNION of two indexed lookups: `owner_user = … OR unit_id IN (…)` made PostgreSQL
    scan every device (bench/README.md, "Device list at scale").
    """
    current_units = Lease.objects.in_force(on).filter(resident=user).values("unit_id")
    own = Device.objects.filter(owner_user=user).order_by().values("pk")
    of_unit = Device.objects.filter(unit__in=current_units).order_by().values("pk")
    return Q(pk__in=own.union(of_unit))


def devices_for_user(*, user: User | AnonymousUser, on: datetime.date | None = None) -> QuerySet[Device]:
    """The devices a resident sees, as a QuerySet to prefetch on (the data export); the device
    list page reads the same devices with their counts through `device_list_for_user`."""
    if not user.is_authenticated:
        return Device.objects.none()
    # The units are read first, so the device lookup is `owner_user = … OR unit_id IN (<ids>)`:
    # PostgreSQL ORs the two indexes (BitmapOr) as it cannot with a subquery, and the ORM
    # builds this much faster than the union `_devices_visible_q` needs (bench/README.md).
    unit_ids = list(Lease.objects.in_force(on).filter(resident=user).order_by().values_list("unit_id", flat=True))
    visible = Q(owner_user=user) | Q(unit_id__in=unit_ids) if unit_ids else Q(owner_user=user)
    return Device.objects.filter(visible).select_related("unit__property").order_by("unit_id", "name", "pk")


# The device list page in one statement: the account's own devices and those of the unit of
# its current lease (the rule of `devices_for_user`; the tests compare the two), each with
# its unit, property and numbers of remotes and PINs. Plain SQL: building the ORM's two
# queries (unit ids, then devices with two count subqueries) cost about ten times running
# them (bench/README.md, pages.py). The lease's unit ids are an array on PostgreSQL
# (`= ANY (ARRAY (…))`, computed once before the scan), so the device lookup ORs the
# owner_user_id and unit_id indexes: half the database's CPU of the UNION of two lookups it
# replaced, most of that planning (bench/README.md); `OR unit_id IN (SELECT …)` there scans
# every device. Other databases (the SQLite tests) take the IN, the same set. The unit's number
# and the property's name are scalar subqueries, not LEFT JOINs: the same rows, and a third of
# the database's planning and execution time less (0.34 -> 0.23 ms), planning being most of it.
def _device_list_sql(*, user_id: int, on: datetime.date) -> tuple[str, list[Any]]:
    _in_force, in_force_params = lease_in_force_sql("l", on)
    removing = SyncState.REMOVING.value
    return _device_list_statement(connection.vendor), [removing, removing, user_id, user_id, *in_force_params]


@functools.cache
def _device_list_statement(vendor: str) -> str:
    # The lease rule's fragment does not depend on the day (a parameter, given at each call).
    in_force, _params = lease_in_force_sql("l", datetime.date.min)
    units = f"SELECT l.unit_id FROM {table(Lease)} l WHERE l.resident_id = %s AND {in_force}"  # noqa: S608 - names from _meta
    of_units = f"= ANY (ARRAY ({units}))" if vendor == "postgresql" else f"IN ({units})"
    unit_number = f"(SELECT {column('u', Unit, 'number')} FROM {table(Unit)} u WHERE u.id = d.unit_id)"  # noqa: S608
    property_name = (
        f"(SELECT {column('p', Property, 'name')} FROM {table(Property)} p "  # noqa: S608 - names from _meta
        f"WHERE p.id = (SELECT u.property_id FROM {table(Unit)} u WHERE u.id = d.unit_id))"
    )
    return f"""
        SELECT {select_list("d", Device)}, {unit_number}, {property_name},
               (SELECT count(*) FROM {table(RemoteControlSetting)} r
                WHERE r.device_id = d.id AND r.sync_state <> %s) AS remote_setting_count,
               (SELECT count(*) FROM {table(PinCode)} c
                WHERE c.device_id = d.id AND c.sync_state <> %s) AS pin_code_count
        FROM {table(Device)} d
        WHERE d.owner_user_id = %s OR d.unit_id {of_units}
        ORDER BY d.unit_id, d.name, d.id
    """  # noqa: S608 - names from the models' _meta, values are parameters


def device_list_for_user(*, user: User | AnonymousUser, on: datetime.date | None = None) -> list[Device]:
    """The devices of the device list page: those of `devices_for_user`, in the same order,
    with `remote_setting_count`, `pin_code_count`, and `unit_number` / `property_name`
    (None for an own device) instead of the related unit and property."""
    if not user.is_authenticated:
        return []
    sql, params = _device_list_sql(user_id=user.pk, on=on or timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # The rows through `model_from_row` (RawQuerySet maps its columns to the model again for
    # every query: a fifth of this read's CPU), the four columns after the device's kept on it.
    devices = []
    for row in rows:
        device = model_from_row(Device, row)
        (device.unit_number, device.property_name, device.remote_setting_count, device.pin_code_count) = row[-4:]  # type: ignore[attr-defined]
        devices.append(device)
    return devices


def device_get_for_user(*, user: User | AnonymousUser, device_id: int) -> Device:
    """One device the resident may see and edit (the rule of `devices_for_user`), with its unit
    and property; Http404 for any other id. One plain statement built once per process: every
    change of a setting starts here, and through the ORM (the UNION of `_devices_visible_q`, the
    unit and property joined) building the query cost more than running it (bench/README.md)."""
    if not user.is_authenticated:
        raise Http404
    _in_force, in_force_params = lease_in_force_sql("l", timezone.localdate())
    with connection.cursor() as cursor:
        cursor.execute(_device_get_sql(connection.vendor), [device_id, user.pk, user.pk, *in_force_params])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    device, unit, prop = models_from_row(row, Device, Unit, Property)
    Device._meta.get_field("unit").set_cached_value(device, unit)
    if unit is not None:
        Unit._meta.get_field("property").set_cached_value(unit, prop)
    return device


@functools.cache
def _device_get_sql(vendor: str) -> str:
    # The device by its primary key, so the lease subquery runs for that one row. The fragment of
    # the lease rule does not depend on the day (a parameter, given at each call).
    in_force, _params = lease_in_force_sql("l", datetime.date.min)
    units = (
        f"SELECT {column('l', Lease, 'unit')} FROM {table(Lease)} l "  # noqa: S608 - names from _meta
        f"WHERE {column('l', Lease, 'resident')} = %s AND {in_force}"
    )
    return (
        f"SELECT {select_list('d', Device)}, {select_list('u', Unit)}, {select_list('p', Property)} "  # noqa: S608 - names from _meta
        f"FROM {table(Device)} d "
        f"LEFT JOIN {table(Unit)} u ON {column('u', Unit, 'id')} = {column('d', Device, 'unit')} "
        f"LEFT JOIN {table(Property)} p ON {column('p', Property, 'id')} = {column('u', Unit, 'property')} "
        f"WHERE {column('d', Device, 'id')} = %s "
        f"AND ({column('d', Device, 'owner_user')} = %s OR {column('d', Device, 'unit')} IN ({units}))"
    )


def remote_setting_get_for_user(*, user: User | AnonymousUser, remote_setting_id: int) -> RemoteControlSetting:
    if not user.is_authenticated:
        raise Http404
    visible_devices = Device.objects.filter(_devices_visible_q(user=user)).values("pk")
    return get_object_or_404(
        RemoteControlSetting.objects.filter(device__in=visible_devices).select_related("device"),
        pk=remote_setting_id,
    )


def pin_code_get_for_user(*, user: User | AnonymousUser, pin_code_id: int) -> PinCode:
    if not user.is_authenticated:
        raise Http404
    visible_devices = Device.objects.filter(_devices_visible_q(user=user)).values("pk")
    return get_object_or_404(
        PinCode.objects.filter(device__in=visible_devices).select_related("device"), pk=pin_code_id
    )


def remote_settings_for_device(*, device: Device) -> QuerySet[RemoteControlSetting]:
    """The device page's remotes, those being removed included (shown so until the device confirms)."""
    return RemoteControlSetting.all_objects.filter(device=device).order_by("name", "pk")


def pin_codes_for_device(*, device: Device) -> QuerySet[PinCode]:
    """The device page's PINs, those being removed included (a deleted PIN opens the lock until it is gone)."""
    return PinCode.all_objects.filter(device=device).order_by("created_at", "pk")
