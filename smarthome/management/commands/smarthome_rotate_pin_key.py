"""`python manage.py smarthome_rotate_pin_key`: re-encrypt every PIN with the newest key.

Prepend the new key to SMARTHOME_PIN_KEYS, deploy, run this, then drop the old key.
"""

from django.core.management.base import BaseCommand, CommandError

from smarthome.services import pin_codes_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every smart-lock PIN with the newest key of SMARTHOME_PIN_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="PINs per transaction (default 500).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be positive.")
        count = pin_codes_reencrypt(batch_size=batch_size)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} PIN code(s) with the newest key."))
