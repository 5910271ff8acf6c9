"""One file per SMS in `settings.SMS_FILE_PATH` (how the integration tier reads a worker's SMS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .base import BaseSmsBackend, SmsMessage


class SmsBackend(BaseSmsBackend):
    def __init__(self, *, file_path: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        path = file_path or getattr(settings, "SMS_FILE_PATH", "")
        if not path:
            raise ImproperlyConfigured("The file-based SMS backend needs SMS_FILE_PATH.")
        self.file_path = Path(path)
        self.file_path.mkdir(parents=True, exist_ok=True)

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        for message in messages:
            name = f"{timezone.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}.txt"
            # Written under a temporary name and renamed, so a reader never sees half a file.
            temporary = self.file_path / f".{name}.tmp"
            temporary.write_text(f"To: {message.to}\n\n{message.body}\n", encoding="utf-8")
            temporary.rename(self.file_path / name)
        return len(messages)
