"""`manage.py device_gateway`: take the hubs' reports and "get" requests until SIGTERM or Ctrl+C.

The network loop (paho) runs in this process, the recording in a process of its own
(`smarthome.sync.recorder.RecorderProcess`, set up with `django.setup`): two cores, no GIL
between reading the broker and writing the database.
"""

from __future__ import annotations

import os
import signal

import django
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from smarthome.app_settings import app_settings
from smarthome.sync.broker import BrokerUrlError, broker_address
from smarthome.sync.gateway import BATCH_MAX, SESSION_EXPIRY_SECONDS, Gateway


class Command(BaseCommand):
    help = (
        "Run a device gateway: subscribe (shared, persistent session, QoS 1) to every hub's reports and "
        "requests on SMARTHOME_MQTT_URL and record them. Several may run at once, each with its own --client-id."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--client-id",
            default=settings.SMARTHOME_MQTT_GATEWAY_CLIENT_ID or f"msc-gateway-{os.uname().nodename}",
            help="MQTT client id of this instance, the same at every restart so its session resumes "
            "(default: $SMARTHOME_MQTT_GATEWAY_CLIENT_ID, else msc-gateway-<host name>).",
        )
        parser.add_argument(
            "--session-expiry",
            type=int,
            default=SESSION_EXPIRY_SECONDS,
            help=f"seconds the broker keeps this instance's session while away (default {SESSION_EXPIRY_SECONDS}).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_MAX,
            help=f"reports recorded in one transaction at most (default {BATCH_MAX}); the broker is asked to "
            "send at most twice as many unacknowledged (MQTT v5 Receive Maximum).",
        )

    def handle(self, *args, client_id: str, session_expiry: int, batch_size: int, **options):
        if session_expiry < 0:
            raise CommandError("--session-expiry must not be negative.")
        if not 1 <= batch_size <= 10000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        try:
            address = broker_address(app_settings.MQTT_URL)
        except BrokerUrlError as exc:
            raise CommandError(f"SMARTHOME_MQTT_URL: {exc}") from exc
        gateway = Gateway(
            address=address,
            prefix=app_settings.MQTT_TOPIC_PREFIX,
            client_id=client_id,
            session_expiry=session_expiry,
            batch_max=batch_size,
            recorder_process=True,
            recorder_setup=django.setup,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: gateway.stop())
        try:
            gateway.run()
        except RuntimeError as exc:  # the recorder process could not start: say so, not a traceback
            raise CommandError(str(exc)) from exc
