"""Dates and times as residents read them: ISO 8601 in the site's time zone for the data
download, a clock time and a length in words for the end of a wait."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def iso_local(value: datetime.datetime | datetime.date | None) -> str | None:
    """A datetime in local time (`2026-12-01T09:00:00+09:00`), a date as is, None as None."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat() if value is not None else None


def clock_text(moment: datetime.datetime) -> str:
    """When a wait ends, as a resident reads a clock: `10:43` today, `12月3日 10:43` another day.

    Rounded up to the minute, so that "from 10:43" is never too early.
    """
    local = timezone.localtime(moment)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    time = f"{local.hour}:{local.minute:02d}"
    if local.date() == timezone.localdate():
        return time
    return _("%(month)d月%(day)d日 %(time)s") % {"month": local.month, "day": local.day, "time": time}


def duration_text(seconds: int) -> str:
    """A wait's length in words: `30秒`, `5分`, `1時間`, `1時間30分` (minutes rounded up)."""
    if seconds < 60:
        return ngettext("%(count)d秒", "%(count)d秒", seconds) % {"count": seconds}
    minutes = -(-seconds // 60)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return ngettext("%(count)d分", "%(count)d分", minutes) % {"count": minutes}
    if minutes:
        return _("%(hours)d時間%(minutes)d分") % {"hours": hours, "minutes": minutes}
    return ngettext("%(count)d時間", "%(count)d時間", hours) % {"count": hours}
