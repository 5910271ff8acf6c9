"""The configured transport (SMARTHOME_DEVICE_TRANSPORT_BACKEND), built once per thread."""

from __future__ import annotations

import threading

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from smarthome.app_settings import app_settings

from .backends.base import Transport

_local = threading.local()


def transport() -> Transport:
    current = getattr(_local, "transport", None)
    if current is None:
        current = _local.transport = import_string(app_settings.DEVICE_TRANSPORT_BACKEND)()
    return current


@receiver(setting_changed)
def _forget_transport(*, setting: str, **kwargs) -> None:
    if setting.startswith("SMARTHOME_"):
        _local.__dict__.pop("transport", None)
