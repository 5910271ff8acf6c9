"""Bench-only SMS backends (never in the product): a provider that answers at once, and one that takes 2 s."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from accounts.sms.backends.base import BaseSmsBackend, SmsMessage

SLOW_SECONDS = float(os.environ.get("BENCH_SMS_SECONDS", "2"))


class InstantSmsBackend(BaseSmsBackend):
    """Accepts every message and keeps nothing."""

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        return len(messages)


class SlowSmsBackend(BaseSmsBackend):
    """A provider whose API answers after BENCH_SMS_SECONDS (2 s)."""

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        time.sleep(SLOW_SECONDS)
        return len(messages)


class InboxSmsBackend(BaseSmsBackend):
    """One file per phone number under SMS_FILE_PATH, newest message last: the load test reads codes there."""

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        from django.conf import settings

        for message in messages:
            with (Path(settings.SMS_FILE_PATH) / f"{message.to.lstrip('+')}.txt").open("a", encoding="utf-8") as f:
                f.write(message.body.replace("\n", " ") + "\n")
        return len(messages)



class DrillSmsBackend(InboxSmsBackend):
    """The inbox backend behind a provider the fault drills can break, through marker files:
    while BENCH_SMS_OUTAGE exists it answers like a 5xx; while BENCH_SMS_SLOW exists it
    takes BENCH_SMS_SECONDS before answering."""

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        from accounts.sms import SmsTransientError

        outage, slow = os.environ.get("BENCH_SMS_OUTAGE", ""), os.environ.get("BENCH_SMS_SLOW", "")
        if outage and Path(outage).exists():
            raise SmsTransientError("bench: provider answered 503")
        if slow and Path(slow).exists():
            time.sleep(SLOW_SECONDS)
        return super().send_messages(messages)
