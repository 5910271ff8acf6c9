"""`manage.py device_hub_simulator`: simulated hubs on the broker of SMARTHOME_MQTT_URL until Ctrl+C.

manage.py device_broker_credentials --new-hubs 100 --provisioning hubs.json --password-file … --acl-file …
manage.py device_hub_simulator --provisioning hubs.json [--drop 0.1 --reorder 0.2 …] [--offline-every 30]
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smarthome.app_settings import app_settings
from smarthome.sync.broker import BrokerUrlError, broker_address, provisioning_load
from smarthome.sync.simulator import Faults, Simulator

FAULTS = ("drop", "duplicate", "reorder", "delay", "report_drop", "report_duplicate")


class Command(BaseCommand):
    help = (
        "Run simulated hubs (each with its own broker credentials from the provisioning file) that apply "
        "desired state and report it, with optional faults: dropped, duplicated, delayed, reordered messages "
        "and hubs going offline and back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provisioning", type=Path, required=True, help="the hubs' provisioning JSON file")
        parser.add_argument("--threads", type=int, default=2, help="network threads sharing the hubs (2)")
        for name in FAULTS:
            parser.add_argument(
                f"--{name.replace('_', '-')}",
                type=float,
                default=0.0,
                help="seconds" if name == "delay" else "probability per message, 0..1",
            )
        parser.add_argument("--seed", type=int, default=None, help="seed of the fault knobs (repeatable runs)")
        parser.add_argument("--offline-every", type=float, default=0.0, help="seconds between hub outages (off)")
        parser.add_argument("--offline-for", type=float, default=10.0, help="seconds a hub stays offline (10)")
        parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (run on)")

    def handle(
        self,
        *args,
        provisioning: Path,
        threads: int,
        seed,
        offline_every: float,
        offline_for: float,
        duration: float,
        **options,
    ):
        try:
            address = broker_address(app_settings.MQTT_URL)
            hubs = provisioning_load(provisioning.read_text())
            faults = Faults(seed=seed, **{name: options[name] for name in FAULTS})
            simulator = Simulator(
                address=address, prefix=app_settings.MQTT_TOPIC_PREFIX, hubs=hubs, threads=threads, faults=faults
            )
        except (OSError, ValueError, BrokerUrlError) as exc:
            raise CommandError(str(exc)) from exc
        stopping = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
        simulator.start()
        connected = simulator.wait_connected(timeout=30)
        self.stdout.write(f"{len(hubs)} simulated hub(s) {'connected' if connected else 'started, not all connected'}.")
        ends = time.monotonic() + duration if duration else float("inf")
        simulator.run_until(
            lambda: bool(stopping) or time.monotonic() >= ends,
            offline_every=offline_every,
            offline_for=offline_for,
            seed=seed,
            progress=lambda counts: self.stdout.write(_summary(counts)),
        )
        simulator.stop()
        self.stdout.write(self.style.SUCCESS(f"Stopped: {_summary(simulator.counts())}"))


def _summary(counts) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "nothing yet"
