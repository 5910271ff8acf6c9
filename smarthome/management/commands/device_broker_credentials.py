"""`manage.py device_broker_credentials`: the Mosquitto password file and ACL for the hubs and the gateway.

manage.py device_broker_credentials --provisioning hubs.json --password-file passwd --acl-file acl
manage.py device_broker_credentials --new-hubs 100 --provisioning hubs.json ...   (simulated hubs)
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from smarthome.app_settings import app_settings
from smarthome.sync import broker


class Command(BaseCommand):
    help = (
        "Write a Mosquitto password file ($7$ PBKDF2-SHA512 hashes) and ACL: each hub of the provisioning "
        "file may only read its own desired topic and write its own reported and get topics; the gateway "
        "user of SMARTHOME_MQTT_URL reads every hub's reports and writes every hub's desired state."
    )

    def add_arguments(self, parser):
        parser.add_argument("--provisioning", type=Path, required=True, help="the hubs' provisioning JSON file")
        parser.add_argument("--password-file", type=Path, required=True)
        parser.add_argument("--acl-file", type=Path, required=True)
        parser.add_argument(
            "--new-hubs", type=int, default=0, help="first write a provisioning file with this many new hubs"
        )
        parser.add_argument("--locks-per-hub", type=int, default=1, help="smart locks behind each new hub (1)")
        parser.add_argument("--slots", type=int, default=20, help="PIN slots of each new lock (20)")

    def handle(
        self,
        *args,
        provisioning: Path,
        password_file: Path,
        acl_file: Path,
        new_hubs: int,
        locks_per_hub: int,
        slots: int,
        **options,
    ):
        address = broker.broker_address(app_settings.MQTT_URL)
        if not address.username or not address.password:
            raise CommandError("SMARTHOME_MQTT_URL names no user:password for the gateway.")
        if new_hubs:
            if new_hubs < 0 or locks_per_hub < 0 or slots < 1:
                raise CommandError("--new-hubs, --locks-per-hub must not be negative, --slots must be positive.")
            if provisioning.exists():
                raise CommandError(f"{provisioning} exists: refusing to replace hubs already provisioned.")
            secret = app_settings.DEVICE_KEY_SECRET or settings.SECRET_KEY
            made = broker.provisioning_new(hubs=new_hubs, locks_per_hub=locks_per_hub, secret=secret, slots=slots)
            broker.private_file_write(provisioning, broker.provisioning_dump(made), 0o600)
            self.stdout.write(f"Provisioned {new_hubs} new hub(s) in {provisioning}.")
        try:
            hubs = broker.provisioning_load(provisioning.read_text())
            credentials = [(address.username, address.password)] + [(h.channel_id, h.password) for h in hubs]
            passwords = broker.password_file_text(credentials)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{provisioning}: {exc}") from exc
        broker.private_file_write(password_file, passwords, 0o600)
        broker.private_file_write(
            acl_file,
            broker.acl_file_text(prefix=app_settings.MQTT_TOPIC_PREFIX, gateway_username=address.username),
            0o644,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(credentials)} user(s) to {password_file} and the ACL to {acl_file}.")
        )
