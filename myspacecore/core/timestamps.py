"""Dates and times as the data download writes them: ISO 8601 in the site's time zone."""

from __future__ import annotations

import datetime

from django.utils import timezone


def iso_local(value: datetime.datetime | datetime.date | None) -> str | None:
    """A datetime in local time (`2026-12-01T09:00:00+09:00`), a date as is, None as None."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat() if value is not None else None
