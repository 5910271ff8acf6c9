"""`manage.py cleanup_verification_codes`: delete expired and used verification codes."""

from __future__ import annotations

from accounts.services.cleanup import CODES_BATCH_SIZE, verification_codes_cleanup
from myspacecore.core.cleanup_command import CleanupCommand


class Command(CleanupCommand):
    help = "Delete expired and settled (used, burned, superseded, cancelled) verification codes in batches."
    noun = "codes"
    default_batch_size = CODES_BATCH_SIZE

    def run(self, *, batch_size, dry_run, progress):
        return verification_codes_cleanup(batch_size=batch_size, dry_run=dry_run, progress=progress)
