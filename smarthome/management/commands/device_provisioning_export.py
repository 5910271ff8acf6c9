"""`manage.py device_provisioning_export`: the provisioning file of chosen hubs, from our database.

manage.py device_provisioning_export --output hubs.json --unit 12 --unit 13
manage.py device_provisioning_export --output hubs.json --channel <hub channel id> ...
manage.py device_provisioning_export --output hubs.json --all

The file is what a real hub is handed at installation and what `device_hub_simulator` reads; then
`device_broker_credentials --provisioning hubs.json …` writes the broker's password file and ACL.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smarthome.models import Device
from smarthome.sync import broker
from smarthome.sync.services import channels_provisioning


class Command(BaseCommand):
    help = (
        "Write the provisioning JSON (broker credentials, the devices behind each hub with their keys) "
        "of the chosen hubs. Hubs already in the output file keep their passwords; new ones get new ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, required=True, help="the provisioning file (written 0600)")
        parser.add_argument("--channel", action="append", default=[], help="a hub's channel id (repeatable)")
        parser.add_argument("--unit", action="append", type=int, default=[], help="a unit's id: its hubs")
        parser.add_argument("--all", dest="every", action="store_true", help="every hub")

    def handle(self, *args, output: Path, channel: list[str], unit: list[int], every: bool, **options):
        if every == bool(channel or unit):
            raise CommandError("Name hubs with --channel / --unit, or give --all (not both).")
        channels = Device.objects.all()
        if not every:
            channels = Device.objects.filter(channel_id__in=channel) | Device.objects.filter(unit_id__in=unit)
        passwords = {}
        if output.exists():
            try:
                passwords = {hub.channel_id: hub.password for hub in broker.provisioning_load(output.read_text())}
            except (OSError, ValueError) as exc:
                raise CommandError(f"{output}: {exc}") from exc
        hubs = channels_provisioning(channels=channels, passwords=passwords)
        if channel and len({h.channel_id for h in hubs} & set(channel)) < len(set(channel)):
            raise CommandError("Some --channel is not a hub of ours (unknown, or a device behind a hub).")
        broker.private_file_write(output, broker.provisioning_dump(hubs), 0o600)
        devices = sum(len(hub.devices) for hub in hubs)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(hubs)} hub(s), {devices} device(s) to {output}."))
