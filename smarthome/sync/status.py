"""What the resident pages say about a setting on its device (docs/device-states.md).

One table, not template logic: the page shows `label` (反映中 / 反映済み / 反映できませんでした /
削除中) with `detail` (why, and what happens next), and a PIN's window state (有効 …) only once
its lock holds it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..models import Device, PinCode, RemoteControlSetting, SyncState


@dataclass(frozen=True)
class SettingStatus:
    code: str  # setting / set / failed / removing: the CSS modifier
    label: str
    detail: str = ""
    window: str = ""  # a PIN's 開始前 / 有効 / 期限切れ, only when its lock holds it


def _when(moment: datetime.datetime | None) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else ""


def _offline_detail(device: Device, *, removing: bool) -> str:
    since = device.sync_failure_since or device.last_seen_at
    if removing:
        if since:
            return _("ハブが%(since)sからオフラインです。オンラインに戻ると削除されます。") % {"since": _when(since)}
        return _("ハブがオフラインです。オンラインに戻ると削除されます。")
    if since:
        return _("ハブが%(since)sからオフラインです。オンラインに戻ると反映されます。") % {"since": _when(since)}
    return _("ハブがオフラインです。オンラインに戻ると反映されます。")


def setting_status(
    *, setting: PinCode | RemoteControlSetting, device: Device, now: datetime.datetime | None = None
) -> SettingStatus:
    """Where `setting` stands on `device`, in the resident's words."""
    is_pin = isinstance(setting, PinCode)
    offline = device.sync_failure == Device.SyncFailure.OFFLINE
    if setting.sync_state == SyncState.REMOVING:
        if offline:
            return SettingStatus("failed", _("削除中…"), _offline_detail(device, removing=True))
        if is_pin:
            detail = _("ロックから削除されるまでお待ちください。")
        else:
            detail = _("デバイスから削除されるまでお待ちください。")
        return SettingStatus("removing", _("削除中…"), detail)
    if setting.sync_state == SyncState.FAILED:
        return SettingStatus("failed", _("反映できませんでした"), setting.get_sync_failure_display())
    if setting.sync_state == SyncState.SETTING:
        if offline:
            return SettingStatus("failed", _("反映できませんでした"), _offline_detail(device, removing=False))
        return SettingStatus("setting", _("ロックに反映中…") if is_pin else _("デバイスに反映中…"))
    window = setting.state(now).label if isinstance(setting, PinCode) else ""
    return SettingStatus("set", _("反映済み"), window=str(window))
