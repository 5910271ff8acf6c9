"""Development: print each SMS on standard output (the `runserver` terminal)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

from .base import BaseSmsBackend, SmsMessage


class SmsBackend(BaseSmsBackend):
    def __init__(self, *, stream=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stream = stream or sys.stdout
        self._lock = threading.RLock()

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        with self._lock:
            for message in messages:
                self.stream.write(f"SMS to: {message.to}\n{message.body}\n{'-' * 79}\n")
            self.stream.flush()
        return len(messages)
