"""Reads of the smarthome app. Every lookup a resident makes goes through `*_for_user`,
so another account's device, remote or PIN is simply not found (404), whatever the id."""

from __future__ import annotations

import datetime

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Lease, User

from .models import Device, PinCode, RemoteControlSetting


def _devices_visible_q(*, user: User, on: datetime.date | None = None) -> Q:
    """The account's own devices and those of the unit of its current lease.

    A UNION of two indexed lookups: `owner_user = … OR unit_id IN (…)` made PostgreSQL
    scan every device (1.5 s with 100,000 residents, see bench/README.md).
    """
    current_units = Lease.objects.current(on).filter(resident=user).values("unit_id")
    own = Device.objects.filter(owner_user=user).order_by().values("pk")
    of_unit = Device.objects.filter(unit__in=current_units).order_by().values("pk")
    return Q(pk__in=own.union(of_unit))


def _count_of(model) -> Coalesce:
    """Rows of `model` per device, as a correlated subquery on its device index (no join fan-out)."""
    per_device = model.objects.filter(device=OuterRef("pk")).order_by().values("device").annotate(n=Count("pk"))
    return Coalesce(Subquery(per_device.values("n")[:1], output_field=IntegerField()), 0)


def devices_for_user(*, user: User, on: datetime.date | None = None) -> QuerySet[Device]:
    """The devices a resident sees on My page, with their numbers of remotes and PINs."""
    if not user.is_authenticated:
        return Device.objects.none()
    # The units are read first, so the device lookup is `owner_user = … OR unit_id IN (<ids>)`:
    # PostgreSQL ORs the two indexes (BitmapOr) as it cannot with a subquery, and the ORM
    # builds this much faster than the union `_devices_visible_q` needs (bench/README.md).
    unit_ids = list(Lease.objects.current(on).filter(resident=user).order_by().values_list("unit_id", flat=True))
    visible = Q(owner_user=user) | Q(unit_id__in=unit_ids) if unit_ids else Q(owner_user=user)
    return (
        Device.objects.filter(visible)
        .select_related("unit__property")
        .annotate(
            remote_setting_count=_count_of(RemoteControlSetting),
            pin_code_count=_count_of(PinCode),
        )
        .order_by("unit_id", "name", "pk")
    )


def device_get_for_user(*, user: User, device_id: int) -> Device:
    """One device the resident may see and edit; Http404 for any other id."""
    if not user.is_authenticated:
        raise Http404
    return get_object_or_404(
        Device.objects.filter(_devices_visible_q(user=user)).select_related("unit__property"), pk=device_id
    )


def remote_setting_get_for_user(*, user: User, remote_setting_id: int) -> RemoteControlSetting:
    if not user.is_authenticated:
        raise Http404
    visible_devices = Device.objects.filter(_devices_visible_q(user=user)).values("pk")
    return get_object_or_404(
        RemoteControlSetting.objects.filter(device__in=visible_devices).select_related("device"),
        pk=remote_setting_id,
    )


def pin_code_get_for_user(*, user: User, pin_code_id: int) -> PinCode:
    if not user.is_authenticated:
        raise Http404
    visible_devices = Device.objects.filter(_devices_visible_q(user=user)).values("pk")
    return get_object_or_404(
        PinCode.objects.filter(device__in=visible_devices).select_related("device"), pk=pin_code_id
    )


def remote_settings_for_device(*, device: Device) -> QuerySet[RemoteControlSetting]:
    return RemoteControlSetting.objects.filter(device=device).order_by("name", "pk")


def pin_codes_for_device(*, device: Device) -> QuerySet[PinCode]:
    return PinCode.objects.filter(device=device).order_by("created_at", "pk")


def pin_codes_active(*, device: Device, at: datetime.datetime | None = None) -> QuerySet[PinCode]:
    """The PINs that open the lock at `at` (now by default): inside their validity window."""
    at = at or timezone.now()
    return PinCode.objects.filter(device=device).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=at),
        Q(valid_until__isnull=True) | Q(valid_until__gt=at),
    )
