"""`python manage.py seed_demo`: load the demo data (idempotent; refused in production)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from myspacecore.demo.accounts import (
    DEMO_OPERATOR_ADMIN_PASSWORD,
    DEMO_OPERATOR_ADMIN_USERNAME,
    DEMO_RESIDENTS,
    DEMO_STAFF_PASSWORD,
    DEMO_STAFF_USERNAME,
    demo_accounts_seed,
)
from myspacecore.demo.smarthome import demo_smarthome_seed


class Command(BaseCommand):
    help = "Load demo data: an operator, its roster, residents of each attribute, a staff account."

    def handle(self, *args, **options):
        if not getattr(settings, "DEMO_DATA_ALLOWED", False):
            raise CommandError("Demo data is refused by these settings (DEMO_DATA_ALLOWED is not set).")
        demo_smarthome_seed(demo=demo_accounts_seed())
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"  Admin: http://127.0.0.1:8000/admin/  {DEMO_STAFF_USERNAME} / {DEMO_STAFF_PASSWORD}")
        self.stdout.write(
            f"  Operator admin (demo operator only): {DEMO_OPERATOR_ADMIN_USERNAME} / {DEMO_OPERATOR_ADMIN_PASSWORD}"
        )
        self.stdout.write("  Residents sign in at http://127.0.0.1:8000/signin/ with one of:")
        for phone, attribute, unit, _start, end in DEMO_RESIDENTS:
            where = f"unit {unit}, lease ended" if end is not None and end < 0 else (f"unit {unit}" if unit else "")
            self.stdout.write(f"    {phone}  {attribute}  {where}".rstrip())
        self.stdout.write("  The SMS code is printed in this terminal (console SMS backend).")
